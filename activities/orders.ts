import { orderEvent, type OrderEvent } from '../domain/order-events';
import type { OrderStatus } from '../domain/order-status';
import type { PricedOrder } from '../domain/pricing';
import type { Database } from '../lib/database';
import type { ShippingAddress } from '../workflows/order-contract';
import { activityCorrelation, appendOrderEvents, type EventLogDeps } from './order-event-log';
import { lockOrder, transitionOrder } from './order-store';

/** The order's own record: created by the saga's first step, closed by its last. */

export interface OrderActivityDeps extends EventLogDeps {
  db: Database;
}

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

export interface RecordOrderOutcomeInput {
  orderId: string;
  status: Extract<OrderStatus, 'DELIVERED' | 'CANCELLED' | 'FAILED'>;
  reason?: string;
}
export interface RecordOrderOutcomeResult {
  status: OrderStatus;
}

export interface RecordDeliveriesInput {
  orderId: string;
  deliveries: { shipmentId: string; deliveredAt: string }[];
}
export interface RecordDeliveriesResult {
  recorded: number;
}

export function createOrderActivities(deps: OrderActivityDeps) {
  const { db } = deps;
  return {
    /** Idempotent: the order's id is its key; a retry finds the row and writes nothing. */
    async recordOrder(input: RecordOrderInput): Promise<RecordOrderResult> {
      const { order } = input;
      return db.$transaction(async (tx) => {
        const inserted = await tx.order.createMany({
          data: [
            {
              id: input.orderId,
              customerId: input.customerId,
              workflowId: input.workflowId,
              status: 'PENDING',
              currency: order.currency,
              itemCount: order.itemCount,
              subtotalMinor: order.subtotalMinor,
              commissionMinor: order.commissionMinor,
              totalMinor: order.totalMinor,
              shippingAddress: { ...input.shippingAddress },
            },
          ],
          skipDuplicates: true,
        });
        if (inserted.count === 0) return { created: false };
        await tx.orderLine.createMany({
          data: order.lines.map((line) => ({
            orderId: input.orderId,
            lineNo: line.lineNo,
            productId: line.productId,
            sellerId: line.sellerId,
            productName: line.name,
            quantity: line.quantity,
            unitPriceMinor: line.unitPriceMinor,
            lineTotalMinor: line.lineTotalMinor,
            commissionRateBps: line.commissionRateBps,
            commissionMinor: line.commissionMinor,
          })),
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
        return { created: true };
      });
    },

    async recordOrderOutcome(input: RecordOrderOutcomeInput): Promise<RecordOrderOutcomeResult> {
      return db.$transaction(async (tx) => {
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
      return db.$transaction(async (tx) => {
        await lockOrder(tx, input.orderId);
        const events: OrderEvent[] = [];
        for (const delivery of input.deliveries) {
          const { count } = await tx.shipment.updateMany({
            where: { id: delivery.shipmentId, orderId: input.orderId, status: 'CREATED' },
            data: { status: 'DELIVERED', deliveredAt: new Date(delivery.deliveredAt) },
          });
          if (count > 0) events.push(orderEvent('ShipmentDelivered', delivery));
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
        return { recorded: events.length };
      });
    },
  };
}

function outcomeEvent({ status, reason }: RecordOrderOutcomeInput): OrderEvent {
  if (status === 'DELIVERED') return orderEvent('OrderDelivered', {});
  if (status === 'FAILED') return orderEvent('OrderFailed', { reason: reason ?? 'failed' });
  return orderEvent('OrderCancelled', { reason: reason ?? 'cancelled' });
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;
