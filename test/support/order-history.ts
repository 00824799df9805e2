import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { orderWorkflowId } from '../../domain/ids';
import { ORDER_AGGREGATE, orderEvent, type OrderEvent, type OrderEventPayloads } from '../../domain/order-events';
import type { Database, Tx } from '../../platform/database';
import { appendEvents, currentVersion } from '../../events/event-store';
import { foldOrderRow, type OrderReadRow, type ReferenceNames } from '../../read-models/projections/orders-read';
import { deliverableAddress } from './catalogue';

/**
 * Orders as their events only, appended through the event store as the saga's activities append
 * them (with outbox rows), for read-model tests that need many orders in known states without
 * running workflows.
 */

export interface HistoryLine {
  productId: string;
  sellerId: string;
  name: string;
  quantity: number;
  unitPriceMinor: number;
}

export type Outcome = 'placed' | 'paid' | 'shipped' | 'delivered' | 'failed' | 'cancelled-after-payment';

export function placedEvent(orderId: string, customerId: string, lines: HistoryLine[]): OrderEvent {
  const priced = lines.map((l, index) => {
    const lineTotalMinor = l.unitPriceMinor * l.quantity;
    const commissionMinor = Math.round(lineTotalMinor / 10);
    return { ...l, lineNo: index + 1, lineTotalMinor, commissionRateBps: 1000, commissionMinor };
  });
  const subtotalMinor = priced.reduce((sum, l) => sum + l.lineTotalMinor, 0);
  return orderEvent('OrderPlaced', {
    customerId,
    workflowId: orderWorkflowId(orderId),
    currency: 'EUR',
    lines: priced,
    totals: {
      itemCount: priced.reduce((sum, l) => sum + l.quantity, 0),
      subtotalMinor,
      commissionMinor: priced.reduce((sum, l) => sum + l.commissionMinor, 0),
      totalMinor: subtotalMinor,
    },
    shippingAddress: deliverableAddress,
  });
}

/** The events an order with this outcome has, in order. */
export function lifecycle(orderId: string, customerId: string, lines: HistoryLine[], outcome: Outcome): OrderEvent[] {
  const stock = lines.map((l) => ({ productId: l.productId, quantity: l.quantity }));
  const total = lines.reduce((sum, l) => sum + l.unitPriceMinor * l.quantity, 0);
  const paymentId = randomUUID();
  const sellers = [...new Set(lines.map((l) => l.sellerId))];
  const shipments = sellers.map((sellerId) => ({
    shipmentId: randomUUID(),
    sellerId,
    trackingNumber: `TRK-${randomUUID().slice(0, 8)}`,
    carrier: 'sim',
  }));
  const events: OrderEvent[] = [placedEvent(orderId, customerId, lines)];
  if (outcome === 'placed') return events;
  events.push(orderEvent('InventoryReserved', { lines: stock }));
  if (outcome === 'failed') {
    return [
      ...events,
      orderEvent('InventoryReleased', { lines: stock }),
      orderEvent('OrderFailed', { reason: 'PaymentDeclined' }),
    ];
  }
  events.push(orderEvent('PaymentCaptured', { paymentId, amountMinor: total, currency: 'EUR' }));
  if (outcome === 'paid') return events;
  if (outcome === 'cancelled-after-payment') {
    return [
      ...events,
      orderEvent('PaymentRefunded', { paymentId, amountMinor: total }),
      orderEvent('InventoryReleased', { lines: stock }),
      orderEvent('OrderCancelled', { reason: 'customer asked' }),
    ];
  }
  events.push(orderEvent('ShipmentsCreated', { shipments }));
  if (outcome === 'shipped') return events;
  for (const s of shipments) {
    events.push(orderEvent('ShipmentDelivered', { shipmentId: s.shipmentId, deliveredAt: new Date().toISOString() }));
  }
  events.push(orderEvent('OrderDelivered', {}));
  return events;
}

/** Appends events to an order, one append per event (as the saga's steps do). */
export async function appendOrderEvents(
  db: Database,
  orderId: string,
  events: OrderEvent[],
  causationPrefix = 'test',
): Promise<void> {
  for (const event of events) {
    // A busy shared machine can keep a pool connection away for seconds (benchmarks): wait rather than fail.
    await db.$transaction(
      async (tx) => {
        const version = await currentVersion(tx, orderId);
        await appendEvents(tx, {
          aggregateType: ORDER_AGGREGATE,
          aggregateId: orderId,
          expectedVersion: version,
          events: [event],
          correlation: { causationKey: `${causationPrefix}:${orderId}:${version + 1}` },
        });
      },
      { maxWait: 60_000, timeout: 60_000 },
    );
  }
}

// --- what orders_read must hold -------------------------------------------------------------

export async function readOrderRows(db: Database): Promise<Map<string, OrderReadRow>> {
  const rows = await db.$queryRawUnsafe<{ row: OrderReadRow }[]>(
    `SELECT to_jsonb(o) AS row FROM read_models.orders_read o ORDER BY order_id`,
  );
  return new Map(rows.map(({ row }) => [row.order_id, row]));
}

/** What orders_read must hold: every order's events folded in memory, straight from the store. */
export async function expectedOrderRows(db: Database): Promise<Map<string, OrderReadRow>> {
  const events = await db.$queryRawUnsafe<
    { aggregate_id: string; version: number; event_type: string; payload: unknown; occurred_at: Date }[]
  >(
    `SELECT aggregate_id::text, version, event_type, payload, occurred_at FROM domain_events
     WHERE aggregate_type = 'order' ORDER BY aggregate_id, version`,
  );
  const names = await referenceNames(db);
  const rows = new Map<string, OrderReadRow>();
  for (const e of events) {
    const row = foldOrderRow(
      rows.get(e.aggregate_id),
      {
        aggregateId: e.aggregate_id,
        version: e.version,
        type: e.event_type,
        payload: e.payload,
        occurredAt: e.occurred_at,
      },
      names,
    );
    if (row) rows.set(e.aggregate_id, row);
  }
  return rows;
}

async function referenceNames(db: Database): Promise<ReferenceNames> {
  const customers = await db.customer.findMany();
  const sellers = await db.seller.findMany();
  return {
    customers: new Map(customers.map((c) => [c.id, { name: c.name, email: c.email }])),
    sellers: new Map(sellers.map((s) => [s.id, s.name])),
  };
}

/** Compares as JSON after a round trip through PostgreSQL's own formatting of timestamps. */
export function normalized(rows: Map<string, OrderReadRow>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, row] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
    out[id] = { ...row, placed_at: Date.parse(row.placed_at), updated_at: Date.parse(row.updated_at) };
  }
  return out;
}

export function normalizedEqual(a: Map<string, OrderReadRow>, b: Map<string, OrderReadRow>): boolean {
  return isDeepStrictEqual(normalized(a), normalized(b));
}

/**
 * The write model's order row and lines for an OrderPlaced payload, as the saga's record-order
 * step writes them: for read-model tests whose projections or recalculations read the write model.
 */
export async function createOrderRow(
  tx: Tx,
  orderId: string,
  placed: OrderEventPayloads['OrderPlaced'],
): Promise<void> {
  await tx.order.create({
    data: {
      id: orderId,
      customerId: placed.customerId,
      workflowId: placed.workflowId,
      status: 'PENDING',
      currency: placed.currency,
      itemCount: placed.totals.itemCount,
      subtotalMinor: BigInt(placed.totals.subtotalMinor),
      commissionMinor: BigInt(placed.totals.commissionMinor),
      totalMinor: BigInt(placed.totals.totalMinor),
      shippingAddress: { ...placed.shippingAddress },
      lines: {
        create: placed.lines.map((l) => ({
          lineNo: l.lineNo,
          productId: l.productId,
          sellerId: l.sellerId,
          productName: l.name,
          quantity: l.quantity,
          unitPriceMinor: BigInt(l.unitPriceMinor),
          lineTotalMinor: BigInt(l.lineTotalMinor),
          commissionRateBps: l.commissionRateBps,
          commissionMinor: BigInt(l.commissionMinor),
        })),
      },
    },
  });
}
