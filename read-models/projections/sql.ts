import type { Pool, PoolClient, QueryResult } from 'pg';
import type { Database, Tx } from '../../platform/database';
import type {} from './projection';

/**
 * Where the projector's hot path runs its SQL. Projections only use `$queryRawUnsafe` and
 * `$executeRawUnsafe` on their transaction, so a pg pool client can stand in for Prisma's
 * transaction client: the same statements without Prisma's client runtime in between (a CPU
 * profile of the projector put about a quarter of its CPU there). Without a pool (tests, tools),
 * Prisma's own interactive transaction runs them.
 *
 * What differs is how results come back: pg returns int8 and numeric as strings where Prisma
 * returns bigint and Decimal. The projections' hot queries return int4, float8, text, uuid::text,
 * boolean, timestamptz and jsonb, which both give alike; keep it so (cast in SQL) when adding one.
 */

/**
 * The subset of Prisma's transaction client the projections use, backed by a pg client. With
 * `begin`, the transaction is opened by the first statement: a statement without parameters is
 * sent in one simple query with the BEGIN (one round trip fewer per transaction).
 */
export function pgTransactionClient(client: PoolClient, begin = false): Tx & { begun(): boolean } {
  let pendingBegin = begin;
  const run = async (sql: string, values: unknown[]): Promise<QueryResult> => {
    if (pendingBegin) {
      pendingBegin = false;
      if (values.length === 0) {
        const results = (await client.query(`BEGIN; ${sql}`)) as unknown as QueryResult[];
        return results[results.length - 1]!;
      }
      await client.query('BEGIN');
    }
    return client.query(sql, values);
  };
  const tx = {
    async $queryRawUnsafe(sql: string, ...values: unknown[]): Promise<unknown> {
      return (await run(sql, values)).rows;
    },
    async $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> {
      return (await run(sql, values)).rowCount ?? 0;
    },
    begun: () => !pendingBegin,
  };
  return tx as unknown as Tx & { begun(): boolean };
}

export interface TransactionOptions {
  /** Prisma's interactive transaction: how long to wait for a connection, and for the whole. */
  maxWaitMs: number;
  timeoutMs: number;
}

/** Runs `work` in one transaction: on the pool when there is one, else through Prisma. */
export async function inTransaction<T>(
  db: Database,
  pool: Pool | undefined,
  work: (tx: Tx) => Promise<T>,
  options: TransactionOptions = { maxWaitMs: 10_000, timeoutMs: 60_000 },
): Promise<T> {
  if (!pool) return db.$transaction(work, { maxWait: options.maxWaitMs, timeout: options.timeoutMs });
  const client = await pool.connect();
  let broken: Error | undefined;
  const tx = pgTransactionClient(client, true);
  try {
    const result = await work(tx);
    if (tx.begun()) await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      if (tx.begun()) await client.query('ROLLBACK');
    } catch (rollbackError) {
      // The connection is unusable: the pool must not hand it out again.
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
