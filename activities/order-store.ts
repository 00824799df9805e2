import { ApplicationFailure } from '@temporalio/activity';
import { canTransition, isOrderStatus, type OrderStatus } from '../domain/order-status';
import type { Prisma } from '../generated/prisma/client';

/**
 * What every order activity does inside its transaction before it changes anything: lock the
 * order's row. Activities of one order then run one after the other even when Temporal retries
 * one while its first attempt is still running, so "check, then write" is safe.
 */
export type Tx = Prisma.TransactionClient;

export async function lockOrder(tx: Tx, orderId: string): Promise<OrderStatus> {
  const rows = await tx.$queryRaw<{ status: string }[]>`
    SELECT status FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`;
  const status = rows[0]?.status;
  if (status === undefined) {
    // The first step records the order; a later step without it is a bug, not an outage.
    throw ApplicationFailure.nonRetryable(`order ${orderId} has not been recorded`, 'OrderNotRecorded');
  }
  if (!isOrderStatus(status)) throw new Error(`order ${orderId} has unknown status ${status}`);
  return status;
}

/** lockOrder for compensations that may run on an order never recorded: undefined when there is none. */
export async function lockOrderIfRecorded(tx: Tx, orderId: string): Promise<OrderStatus | undefined> {
  const rows = await tx.$queryRaw<{ status: string }[]>`
    SELECT status FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`;
  const status = rows[0]?.status;
  return status !== undefined && isOrderStatus(status) ? status : undefined;
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
  await tx.order.update({
    where: { id: orderId },
    data: { status: to, ...(failureReason !== undefined ? { failureReason } : {}) },
  });
}
