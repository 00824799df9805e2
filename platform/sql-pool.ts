import type { Pool, PoolClient } from 'pg';

/**
 * Plain SQL on the pg pool that a Prisma client runs on (platform/database.ts). Prisma's client
 * runtime costs about a millisecond of CPU per query; a step that runs on every order pays that
 * many times over, so such steps (saga steps, the order API's per-order queries) use the pool.
 */

/** A connection inside a transaction opened by `inTransaction`. */
export type SqlClient = Pick<PoolClient, 'query'>;

/** Where a client made by `createDatabase` keeps its pool (a symbol: a wrapping proxy passes it through). */
export const sqlPoolKey = Symbol('shopflow.sqlPool');

/** The pg pool under a client made by `createDatabase`. */
export function sqlPoolOf(db: object): Pool {
  const pool = (db as { [sqlPoolKey]?: Pool })[sqlPoolKey];
  if (!pool) throw new Error('this database client was not made by createDatabase: it has no SQL pool');
  return pool;
}

/** Runs `work` in one transaction on one pooled connection: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: Pool, work: (sql: SqlClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      // A connection that cannot roll back is not handed to the next caller.
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
