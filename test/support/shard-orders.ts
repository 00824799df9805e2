import { randomUUID } from 'node:crypto';
import { ORDER_AGGREGATE, type OrderEvent } from '../../domain/order-events';
import { appendEvents, currentVersion } from '../../events/event-store';
import type { Database, Tx } from '../../platform/database';
import { statusAfter } from '../../read-models/projections/seller-dashboard';
import { createOrderRow, lifecycle, type HistoryLine, type Outcome } from './order-history';

/**
 * Orders written on a database (a customer's shard) as the saga's steps write them: each event of
 * the order's lifecycle appended in one transaction with its write-model change (the order row and
 * lines, the payment, the refund, the status), for tests of what reads the write model on shards.
 * The status follows each event as the seller dashboard's projection reads it (`statusAfter`).
 */

async function writeModelChange(tx: Tx, orderId: string, event: OrderEvent): Promise<void> {
  switch (event.type) {
    case 'OrderPlaced':
      return createOrderRow(tx, orderId, event.payload);
    case 'PaymentCaptured': {
      const { paymentId, amountMinor, currency } = event.payload;
      await tx.payment.create({
        data: {
          id: paymentId,
          orderId,
          amountMinor: BigInt(amountMinor),
          currency,
          provider: 'test',
          providerChargeId: `ch-${paymentId}`,
          idempotencyKey: `pay-${orderId}`,
          status: 'CAPTURED',
        },
      });
      break;
    }
    case 'PaymentRefunded': {
      const { paymentId, amountMinor } = event.payload;
      await tx.payment.update({ where: { id: paymentId }, data: { status: 'REFUNDED' } });
      await tx.refund.create({
        data: {
          paymentId,
          amountMinor: BigInt(amountMinor),
          providerRefundId: `re-${paymentId}`,
          idempotencyKey: `refund-${orderId}`,
        },
      });
      break;
    }
  }
  const status = statusAfter[event.type];
  if (status) await tx.order.update({ where: { id: orderId }, data: { status } });
}

/** Appends `events` to the order on `db`, each in one transaction with its write-model change. */
export async function writeOrderSteps(db: Database, orderId: string, events: readonly OrderEvent[]): Promise<void> {
  for (const event of events) {
    await db.$transaction(async (tx) => {
      await writeModelChange(tx, orderId, event);
      await appendEvents(tx, {
        aggregateType: ORDER_AGGREGATE,
        aggregateId: orderId,
        expectedVersion: await currentVersion(tx, orderId),
        events: [event],
        correlation: { causationKey: `test:${orderId}:${event.type}` },
      });
    });
  }
}

/** An order of `customerId` on `db` with this outcome, rows and events; its id and its events. */
export async function writeOrder(
  db: Database,
  customerId: string,
  lines: HistoryLine[],
  outcome: Outcome,
): Promise<{ orderId: string; events: OrderEvent[] }> {
  const orderId = randomUUID();
  const events = lifecycle(orderId, customerId, lines, outcome);
  await writeOrderSteps(db, orderId, events);
  return { orderId, events };
}
