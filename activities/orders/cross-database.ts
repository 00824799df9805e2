import type { Tx } from './order-store';

/**
 * Steps that change both stock (the catalogue database) and an order (its customer's shard), when
 * those are two databases: the stock's transaction commits first, then the order's. There is no
 * transaction across two servers, and none is needed: each half is idempotent (the stock half finds
 * its rows moved already, the order half its status and events recorded), so when the worker dies
 * between the two commits, Temporal's retry finds the first half done and does the second. The
 * order's events then say what its stock rows already show.
 */

export interface CrossDatabaseDeps {
  /**
   * Called between the two commits of a step that spans two databases, naming the step: a test's
   * way to make the worker "die" there (test/integration/shard-saga-crash.test.ts). Unset in production.
   */
  betweenCommits?: (step: string) => Promise<void>;
}

/** The advisory lock's first key, which tells order-stock locks apart (the relay takes one-key locks). */
const ORDER_STOCK_LOCK_SPACE = 17;

/**
 * Serialises the stock halves of one order's steps in the catalogue database, as the order's row
 * lock does when stock and order share a database: a retry racing its first attempt waits, then
 * finds that attempt's rows. A transaction-scoped advisory lock in a key space of its own.
 */
export async function lockOrderStock(tx: Tx, orderId: string): Promise<void> {
  await tx.query({
    name: 'order-stock-lock',
    text: `SELECT pg_advisory_xact_lock(${ORDER_STOCK_LOCK_SPACE}, hashtext($1))`,
    values: [orderId],
  });
}
