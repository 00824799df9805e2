import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import type { Config } from './config';

export type Database = PrismaClient;

/** One client per process, created by the entry point and passed down. */
export function createDatabase(config: Pick<Config, 'database'>): Database {
  const adapter = new PrismaPg({
    connectionString: config.database.url,
    max: config.database.poolSize,
    // Fail fast instead of hanging a request when PostgreSQL does not answer.
    connectionTimeoutMillis: 5_000,
  });
  return new PrismaClient({ adapter });
}
