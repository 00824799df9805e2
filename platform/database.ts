import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client';
import type { Config } from './config';
import { sqlPoolKey } from './sql-pool';

export type Database = PrismaClient;

/** An interactive transaction's client (inside `db.$transaction(async (tx) => …)`). */
export type Tx = Prisma.TransactionClient;

/**
 * One client per process, created by the entry point and passed down. Prisma and the hot paths
 * that write plain SQL (platform/sql-pool.ts) share one pg pool, so a process holds one set of
 * connections whichever way it talks to PostgreSQL.
 */
export function createDatabase(config: Pick<Config, 'database'>): Database {
  const pool = new Pool({
    connectionString: config.database.url,
    max: config.database.poolSize,
    // Fail fast instead of hanging a request when PostgreSQL does not answer.
    connectionTimeoutMillis: 5_000,
  });
  // An idle connection the server closed (restart, failover, an operator's terminate) leaves the
  // pool by itself and the next query opens a new one: nothing to do, but the event needs a
  // listener or Node treats it as an uncaught error.
  pool.on('error', () => undefined);
  const db = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  Object.defineProperty(db, sqlPoolKey, { value: pool, enumerable: false, configurable: true });
  return db;
}
