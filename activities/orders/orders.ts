import { orderEvent, type OrderEvent } from '../../domain/order-events';
import type { OrderStatus, TerminalStatus } from '../../domain/order-status';
import type { PricedOrder } from '../../domain/pricing';
import type { ShippingAddress } from '../../workflows/orders/order-contract';
import type { CrossDatabaseDeps } from './cross-database';
import { orderDatabase, type OrderRef, type OrderShardDeps } from './order-database';
import { activityCorrelation, appendOrderEvents, type EventLogDeps } from './order-event-log';
import { lockOrder, orderTransaction, transitionOrder, type Tx } from './order-store';
import {
  holdStockForOrder,
  InsufficientStock,
  outOfStockFailure,
  recordReserved,
  reserveAll,
  type ReserveInventoryResult,
  type StockLine,
} from '../inventory';

/** The order's own record, on its customer's shard: created by the saga's first step, closed by its last. */

export interface OrderActivityDeps extends EventLogDeps, OrderShardDeps, CrossDatabaseDeps {}

export interface RecordOrderInput {
  orderId: string;
  workflowId: string;
  customerId: string;
  order: PricedOrder;
  shippingAddress: ShippingAddress;
}
export interface RecordOrderResult {
  created: boolean;
}

export interface RecordOrderAndReserveInput extends RecordOrderInput {
  lines: StockLine[];
}

export interface RecordOrderOutcomeInput extends OrderRef {
  status: TerminalStatus;
  reason?: string;
}
export interface RecordOrderOutcomeResult {
  status: OrderStatus;
}

export interface RecordDeliveriesInput extends OrderRef {
  deliveries: { shipmentId: string; deliveredAt: string }[];
  /**
   * The workflow knows these are the last undelivered shipments: once they are, the same
   * transaction closes the order as DELIVERED (one step instead of two on every order).
   */
  closeOrder?: boolean;
}
export interface RecordDeliveriesResult {
  recorded: number;
}

export function createOrderActivities(deps: OrderActivityDeps) {
  const { db } = deps;
  return {
    /** Idempotent: the order's id is its key; a retry finds the row and writes nothing. */
    async recordOrder(input: RecordOrderInput): Promise<RecordOrderResult> {
      const orderDb = await orderDatabase(deps, input);
      return orderTransaction(orderDb, async (tx) => ({ created: await insertOrder(tx, input, deps) }));
    },

    /**
     * The saga's first two steps in one transaction (one local activity, one commit): records the
     * order, then reserves every line. Short of stock, the reservation is rolled back to its
     * savepoint and the recorded order committed, then the step fails with OutOfStock, so the
     * workflow knows the order exists and records its outcome. Idempotent like both halves.
     *
     * With the customer on a shard of its own, stock and order are two databases: the stock is held
     * first (or found short), then the order recorded with its reservation's status and events in
     * one transaction on the shard (activities/orders/cross-database.ts).
     */
    async recordOrderAndReserveInventory(
      input: RecordOrderAndReserveInput,
    ): Promise<RecordOrderResult & ReserveInventoryResult> {
      const orderDb = await orderDatabase(deps, input);
      if (orderDb !== db) return recordOrderAcross(deps, orderDb, input);
      const outcome = await orderTransaction(db, async (tx) => {
        const created = await insertOrder(tx, input, deps);
        await tx.query('SAVEPOINT reserve_inventory');
        try {
          const { reserved } = await reserveAll(tx, { orderId: input.orderId, lines: input.lines }, deps);
          return { created, reserved };
        } catch (error) {
          if (!(error instanceof InsufficientStock)) throw error;
          await tx.query('ROLLBACK TO SAVEPOINT reserve_inventory');
          return undefined;
        }
      });
      if (!outcome) throw await outOfStockFailure(db, input.lines);
      return outcome;
    },

    async recordOrderOutcome(input: RecordOrderOutcomeInput): Promise<RecordOrderOutcomeResult> {
      return orderTransaction(await orderDatabase(deps, input), async (tx) => {
        const current = await lockOrder(tx, input.orderId);
        await transitionOrder(tx, input.orderId, current, input.status, input.reason);
        if (current !== input.status) {
          await appendOrderEvents(
            tx,
            input.orderId,
            activityCorrelation(input.orderId, `order-outcome:${input.status}`),
            [outcomeEvent(input)],
            deps,
          );
        }
        return { status: input.status };
      });
    },

    /** Marks delivered shipments; one already delivered (a repeated carrier callback) is skipped. */
    async recordDeliveries(input: RecordDeliveriesInput): Promise<RecordDeliveriesResult> {
      return orderTransaction(await orderDatabase(deps, input), async (tx) => {
        const status = await lockOrder(tx, input.orderId);
        const { rows } = await tx.query<{ shipmentId: string; open: number }>({
          name: 'shipments-deliver',
          text: `WITH delivered AS (
                   UPDATE shipments s SET status = 'DELIVERED', delivered_at = d."deliveredAt"
                   FROM jsonb_to_recordset($2::jsonb) AS d("shipmentId" uuid, "deliveredAt" timestamptz)
                   WHERE s.id = d."shipmentId" AND s.order_id = $1::uuid AND s.status = 'CREATED'
                   RETURNING s.id
                 )
                 SELECT d.id AS "shipmentId", NULL::int AS open FROM delivered d
                 UNION ALL
                 -- Shipments still on their way once these are delivered (the snapshot predates the update).
                 SELECT NULL, count(*)::int FROM shipments
                 WHERE order_id = $1::uuid AND status = 'CREATED' AND id NOT IN (SELECT id FROM delivered)`,
          values: [input.orderId, JSON.stringify(input.deliveries)],
        });
        const recorded = new Set(rows.filter((row) => row.shipmentId !== null).map((row) => row.shipmentId));
        const stillOpen = rows.find((row) => row.shipmentId === null)?.open ?? 0;
        // In the order the callbacks were reported, as one event each.
        const events: OrderEvent[] = input.deliveries
          .filter((delivery) => recorded.has(delivery.shipmentId.toLowerCase()))
          .map((delivery) => orderEvent('ShipmentDelivered', delivery));
        if (input.closeOrder && stillOpen === 0 && status !== 'DELIVERED') {
          await transitionOrder(tx, input.orderId, status, 'DELIVERED');
          events.push(outcomeEvent({ orderId: input.orderId, status: 'DELIVERED' }));
        }
        // Each batch of callbacks is its own step: the shipments it names tell one batch from another.
        const batch = input.deliveries
          .map((d) => d.shipmentId)
          .sort()
          .join(',');
        await appendOrderEvents(
          tx,
          input.orderId,
          activityCorrelation(input.orderId, `deliveries:${batch}`),
          events,
          deps,
        );
        return { recorded: recorded.size };
      });
    },
  };
}

/** recordOrderAndReserveInventory when the order's shard is not the catalogue database. */
async function recordOrderAcross(
  deps: OrderActivityDeps,
  orderDb: OrderShardDeps['db'],
  input: RecordOrderAndReserveInput,
): Promise<RecordOrderResult & ReserveInventoryResult> {
  const stock = { orderId: input.orderId, lines: input.lines };
  let reserved: StockLine[] | undefined;
  try {
    reserved = (await orderTransaction(deps.db, (tx) => holdStockForOrder(tx, stock))).reserved;
  } catch (error) {
    if (!(error instanceof InsufficientStock)) throw error;
  }
  await deps.betweenCommits?.('record-order-and-reserve-inventory');
  const created = await orderTransaction(orderDb, async (tx) => {
    const inserted = await insertOrder(tx, input, deps);
    if (reserved) await recordReserved(tx, stock, await lockOrder(tx, input.orderId), deps);
    return inserted;
  });
  if (!reserved) throw await outOfStockFailure(deps.db, input.lines);
  return { created, reserved };
}

/** Inserts the order, its lines and OrderPlaced; false when a committed attempt already did. */
async function insertOrder(tx: Tx, input: RecordOrderInput, deps: EventLogDeps): Promise<boolean> {
  const { order } = input;
  const inserted = await tx.query({
    name: 'order-insert',
    text: `INSERT INTO orders (id, customer_id, workflow_id, status, currency, item_count, subtotal_minor,
                               commission_minor, total_minor, shipping_address)
           VALUES ($1::uuid, $2::uuid, $3, 'PENDING', $4, $5::int, $6::bigint, $7::bigint, $8::bigint, $9::jsonb)
           ON CONFLICT DO NOTHING`,
    values: [
      input.orderId,
      input.customerId,
      input.workflowId,
      order.currency,
      order.itemCount,
      order.subtotalMinor,
      order.commissionMinor,
      order.totalMinor,
      JSON.stringify(input.shippingAddress),
    ],
  });
  if (inserted.rowCount === 0) return false;
  await tx.query({
    name: 'order-lines-insert',
    text: `INSERT INTO order_lines (order_id, line_no, product_id, seller_id, product_name, quantity,
                                    unit_price_minor, line_total_minor, commission_rate_bps, commission_minor)
           SELECT $1::uuid, l."lineNo", l."productId", l."sellerId", l.name, l.quantity,
                  l."unitPriceMinor", l."lineTotalMinor", l."commissionRateBps", l."commissionMinor"
           FROM jsonb_to_recordset($2::jsonb) AS l("lineNo" int, "productId" uuid, "sellerId" uuid, name text,
                quantity int, "unitPriceMinor" bigint, "lineTotalMinor" bigint, "commissionRateBps" int,
                "commissionMinor" bigint)`,
    values: [input.orderId, JSON.stringify(order.lines)],
  });
  await appendOrderEvents(
    tx,
    input.orderId,
    activityCorrelation(input.orderId, 'record-order'),
    [
      orderEvent('OrderPlaced', {
        customerId: input.customerId,
        workflowId: input.workflowId,
        currency: order.currency,
        lines: order.lines.map((line) => ({ ...line })),
        totals: {
          itemCount: order.itemCount,
          subtotalMinor: order.subtotalMinor,
          commissionMinor: order.commissionMinor,
          totalMinor: order.totalMinor,
        },
        shippingAddress: { ...input.shippingAddress },
      }),
    ],
    deps,
  );
  return true;
}

function outcomeEvent({ status, reason }: RecordOrderOutcomeInput): OrderEvent {
  if (status === 'DELIVERED') return orderEvent('OrderDelivered', {});
  if (status === 'FAILED') return orderEvent('OrderFailed', { reason: reason ?? 'failed' });
  return orderEvent('OrderCancelled', { reason: reason ?? 'cancelled' });
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;
