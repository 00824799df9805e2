import { defineConfig } from 'prisma/config';

// Read by the Prisma CLI only. `prisma migrate status|deploy` (on machines with Prisma's native
// engine) use DATABASE_URL; shopflow itself applies migrations with `npm run db:migrate`.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/shopflow' },
});
