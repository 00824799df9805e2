import { ApplicationFailure } from '@temporalio/activity';
import { OrderFailureType } from '../domain/order-errors';
import { orderEvent } from '../domain/order-events';
import type { Database } from '../lib/database';
import type { ShippingAddress } from '../workflows/order-contract';
import { activityCorrelation, appendOrderEvents, type EventLogDeps } from './order-event-log';
import { lockOrder, transitionOrder, type Tx } from './order-store';
import { UndeliverableAddressError, type ProviderShipment, type ShippingProvider } from './providers/shipping-provider';

/**
 * One shipment per seller. Shipments are booked with the carrier first (idempotently, one key
 * per seller), then recorded together with the stock they consume in one transaction, so the
 * order is SHIPPED with all its shipments or not at all.
 */

export interface ShippingActivityDeps extends EventLogDeps {
  db: Database;
  shipping: ShippingProvider;
}

export interface SellerParcel {
  sellerId: string;
  /** The carrier's idempotency key for this seller's shipment (derived from the workflow and step). */
  idempotencyKey: string;
  parcels: { productId: string; quantity: number }[];
}

export interface CreateShipmentsInput {
  orderId: string;
  address: ShippingAddress;
  sellers: SellerParcel[];
}
export interface CreatedShipment {
  shipmentId: string;
  sellerId: string;
  trackingNumber: string;
}
export interface CreateShipmentsResult {
  shipments: CreatedShipment[];
}

export interface CancelShipmentsInput {
  orderId: string;
  sellers: Pick<SellerParcel, 'sellerId' | 'idempotencyKey'>[];
}
export interface CancelShipmentsResult {
  cancelled: number;
}

export function createShippingActivities(deps: ShippingActivityDeps) {
  const { db, shipping } = deps;
  return {
    async createShipments(input: CreateShipmentsInput): Promise<CreateShipmentsResult> {
      const booked: { seller: SellerParcel; shipment: ProviderShipment }[] = [];
      for (const seller of input.sellers) {
        const shipment = await shipping
          .createShipment({
            idempotencyKey: seller.idempotencyKey,
            orderId: input.orderId,
            sellerId: seller.sellerId,
            address: input.address,
            parcels: seller.parcels,
          })
          .catch((error: unknown) => {
            if (error instanceof UndeliverableAddressError) {
              throw ApplicationFailure.nonRetryable(error.message, OrderFailureType.Undeliverable);
            }
            throw error;
          });
        booked.push({ seller, shipment });
      }

      return db.$transaction(async (tx) => {
        const status = await lockOrder(tx, input.orderId);
        await tx.shipment.createMany({
          data: booked.map(({ seller, shipment }) => ({
            orderId: input.orderId,
            sellerId: seller.sellerId,
            status: 'CREATED',
            carrier: shipment.carrier,
            trackingNumber: shipment.trackingNumber,
            providerShipmentId: shipment.providerShipmentId,
            idempotencyKey: seller.idempotencyKey,
          })),
          skipDuplicates: true,
        });
        await moveReservations(tx, input.orderId, 'RESERVED', 'CONSUMED');
        await transitionOrder(tx, input.orderId, status, 'SHIPPED');
        const rows = await tx.shipment.findMany({ where: { orderId: input.orderId }, orderBy: { sellerId: 'asc' } });
        if (status !== 'SHIPPED') {
          await appendOrderEvents(
            tx,
            input.orderId,
            activityCorrelation(input.orderId, 'create-shipments'),
            [
              orderEvent('ShipmentsCreated', {
                shipments: rows.map((r) => ({
                  shipmentId: r.id,
                  sellerId: r.sellerId,
                  trackingNumber: r.trackingNumber,
                  carrier: r.carrier,
                })),
              }),
            ],
            deps,
          );
        }
        return {
          shipments: rows.map((r) => ({ shipmentId: r.id, sellerId: r.sellerId, trackingNumber: r.trackingNumber })),
        };
      });
    },

    /** Compensation: cancels whatever the carrier booked for this order and puts consumed stock back on hold. */
    async cancelShipments(input: CancelShipmentsInput): Promise<CancelShipmentsResult> {
      let cancelled = 0;
      for (const seller of input.sellers) {
        const result = await shipping.cancelShipment({ idempotencyKey: seller.idempotencyKey, orderId: input.orderId });
        if (result.cancelled) cancelled += 1;
      }
      await db.$transaction(async (tx) => {
        await lockOrder(tx, input.orderId);
        const open = await tx.shipment.findMany({
          where: { orderId: input.orderId, status: 'CREATED' },
          select: { id: true },
          orderBy: { sellerId: 'asc' },
        });
        await tx.shipment.updateMany({
          where: { id: { in: open.map((s) => s.id) } },
          data: { status: 'CANCELLED', cancelledAt: new Date() },
        });
        await moveReservations(tx, input.orderId, 'CONSUMED', 'RESERVED');
        if (open.length > 0) {
          await appendOrderEvents(
            tx,
            input.orderId,
            activityCorrelation(input.orderId, 'cancel-shipments'),
            [orderEvent('ShipmentsCancelled', { shipmentIds: open.map((s) => s.id) })],
            deps,
          );
        }
      });
      return { cancelled };
    },
  };
}

/**
 * Moves the order's reservations from one state to another and applies the matching change to
 * stock: shipping consumes a hold (goods leave: on hand and reserved both go down), cancelling a
 * shipment puts it back on hold. Rows already moved are skipped, so a retry changes nothing.
 */
async function moveReservations(
  tx: Tx,
  orderId: string,
  from: 'RESERVED' | 'CONSUMED',
  to: 'RESERVED' | 'CONSUMED',
): Promise<void> {
  const moved = await tx.$queryRaw<{ productId: string; quantity: number }[]>`
    UPDATE reservations SET status = ${to}
    WHERE order_id = ${orderId}::uuid AND status = ${from}
    RETURNING product_id AS "productId", quantity`;
  const sign = to === 'CONSUMED' ? -1 : 1;
  // Always in product order, so two orders never lock the same inventory rows the other way round.
  for (const line of moved.sort((a, b) => a.productId.localeCompare(b.productId))) {
    const delta = sign * line.quantity;
    await tx.$executeRaw`
      UPDATE inventory SET on_hand = on_hand + ${delta}, reserved = reserved + ${delta}, updated_at = now()
      WHERE product_id = ${line.productId}::uuid`;
  }
}

export type ShippingActivities = ReturnType<typeof createShippingActivities>;
