import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Generates the Prisma client into generated/prisma (git-ignored) when the schema changed.
 * `prisma generate` insists on finding the native schema engine, which cannot be downloaded
 * here, although generation never runs it: we point it at a stand-in that explains itself.
 */

const root = path.resolve(__dirname, '..');
const schemaPath = path.join(root, 'prisma', 'schema.prisma');
const stampPath = path.join(root, 'generated', 'prisma', '.schema-sha256');
const force = process.argv.includes('--force');

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npm run db:generate   (generates the Prisma client; --force regenerates)\n');
  process.exit(0);
}

const prismaVersion = (
  JSON.parse(readFileSync(path.join(root, 'node_modules', 'prisma', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
const fingerprint = createHash('sha256').update(readFileSync(schemaPath)).update(prismaVersion).digest('hex');

if (!force && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === fingerprint) {
  process.exit(0);
}

const result = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules', 'prisma', 'build', 'index.js'), 'generate'],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY:
        process.env['PRISMA_SCHEMA_ENGINE_BINARY'] ?? path.join(root, 'scripts', 'schema-engine-unavailable'),
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  },
);
if (result.status !== 0) {
  process.stderr.write('shopflow: prisma generate failed\n');
  process.exit(result.status ?? 1);
}
writeFileSync(stampPath, fingerprint);
