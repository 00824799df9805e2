import { ApplicationFailure } from '@temporalio/activity';
import { canTransition, isOrderStatus, type OrderStatus } from '../../domain/order-status';
import type { Database } from '../../platform/database';
import { inTransaction, sqlPoolOf, type SqlClient } from '../../platform/sql-pool';

/**
 * What every order activity does inside its transaction before it changes anything: lock the
 * order's row. Activities of one order then run one after the other even when Temporal retries
 * one while its first attempt is still running, so "check, then write" is safe.
 *
 * Order steps run on every order, so they speak plain SQL on the pool under Prisma
 * (platform/database.ts): a few round trips per step instead of Prisma's runtime per query.
 */
export type Tx = SqlClient;

/** Runs one order step's writes in one transaction. */
export function orderTransaction<T>(db: Database, work: (tx: Tx) => Promise<T>): Promise<T> {
  return inTransaction(sqlPoolOf(db), work);
}

export async function lockOrder(tx: Tx, orderId: string): Promise<OrderStatus> {
  const status = await lockOrderIfRecorded(tx, orderId);
  if (status === undefined) {
    // The first step records the order; a later step without it is a bug, not an outage.
    throw ApplicationFailure.nonRetryable(`order ${orderId} has not been recorded`, 'OrderNotRecorded');
  }
  return status;
}

/** lockOrder for compensations that may run on an order never recorded: undefined when there is none. */
export async function lockOrderIfRecorded(tx: Tx, orderId: string): Promise<OrderStatus | undefined> {
  const { rows } = await tx.query<{ status: string }>({
    name: 'order-lock',
    text: 'SELECT status FROM orders WHERE id = $1::uuid FOR UPDATE',
    values: [orderId],
  });
  const status = rows[0]?.status;
  if (status === undefined) return undefined;
  if (!isOrderStatus(status)) throw new Error(`order ${orderId} has unknown status ${status}`);
  return status;
}

/**
 * Moves the locked order to `to`. Already there: nothing to do (a retry). A move the state
 * machine forbids is a bug and fails the step for good instead of retrying for ever.
 */
export async function transitionOrder(
  tx: Tx,
  orderId: string,
  from: OrderStatus,
  to: OrderStatus,
  failureReason?: string,
): Promise<void> {
  if (from === to) return;
  if (!canTransition(from, to)) {
    throw ApplicationFailure.nonRetryable(
      `order ${orderId} cannot move from ${from} to ${to}`,
      'InvalidOrderTransition',
    );
  }
  await tx.query({
    name: 'order-transition',
    text: `UPDATE orders SET status = $2, failure_reason = coalesce($3, failure_reason), updated_at = now()
           WHERE id = $1::uuid`,
    values: [orderId, to, failureReason ?? null],
  });
}
