import { ApplicationFailure } from '@temporalio/activity';
import { OrderFailureType } from '../../domain/order-errors';
import { orderEvent } from '../../domain/order-events';
import type { ShippingAddress } from '../../workflows/orders/order-contract';
import { lockOrderStock, type CrossDatabaseDeps } from '../orders/cross-database';
import { orderDatabase, type OrderRef, type OrderShardDeps } from '../orders/order-database';
import { activityCorrelation, appendOrderEvents, type EventLogDeps } from '../orders/order-event-log';
import { adjustStock, type StockLine } from '../inventory';
import { lockOrder, orderTransaction, transitionOrder, type Tx } from '../orders/order-store';
import { UndeliverableAddressError, type ProviderShipment, type ShippingProvider } from './shipping-provider';

/**
 * One shipment per seller. Shipments are booked with the carrier first (idempotently, one key
 * per seller), then recorded together with the stock they consume in one transaction, so the
 * order is SHIPPED with all its shipments or not at all. With the customer on a shard of its own,
 * the stock's half commits first in the catalogue database, then the order's on the shard
 * (activities/orders/cross-database.ts).
 */

export interface ShippingActivityDeps extends EventLogDeps, OrderShardDeps, CrossDatabaseDeps {
  shipping: ShippingProvider;
}

export interface SellerParcel {
  sellerId: string;
  /** The carrier's idempotency key for this seller's shipment (derived from the workflow and step). */
  idempotencyKey: string;
  parcels: { productId: string; quantity: number }[];
}

export interface CreateShipmentsInput extends OrderRef {
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

export interface CancelShipmentsInput extends OrderRef {
  sellers: Pick<SellerParcel, 'sellerId' | 'idempotencyKey'>[];
}
export interface CancelShipmentsResult {
  cancelled: number;
}

export function createShippingActivities(deps: ShippingActivityDeps) {
  const { db, shipping } = deps;
  return {
    async createShipments(input: CreateShipmentsInput): Promise<CreateShipmentsResult> {
      const orderDb = await orderDatabase(deps, input);
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

      const sameDatabase = orderDb === db;
      if (!sameDatabase) {
        await orderTransaction(db, (tx) => consumeReservations(tx, input.orderId));
        await deps.betweenCommits?.('create-shipments');
      }
      return orderTransaction(orderDb, async (tx) => {
        const status = await lockOrder(tx, input.orderId);
        await tx.query({
          name: 'shipments-insert',
          text: `INSERT INTO shipments (order_id, seller_id, status, carrier, tracking_number, provider_shipment_id, idempotency_key)
                 SELECT $1::uuid, s."sellerId", 'CREATED', s.carrier, s."trackingNumber", s."providerShipmentId", s."idempotencyKey"
                 FROM jsonb_to_recordset($2::jsonb) AS s("sellerId" uuid, carrier text, "trackingNumber" text,
                      "providerShipmentId" text, "idempotencyKey" text)
                 ON CONFLICT DO NOTHING`,
          values: [
            input.orderId,
            JSON.stringify(
              booked.map(({ seller, shipment }) => ({
                sellerId: seller.sellerId,
                carrier: shipment.carrier,
                trackingNumber: shipment.trackingNumber,
                providerShipmentId: shipment.providerShipmentId,
                idempotencyKey: seller.idempotencyKey,
              })),
            ),
          ],
        });
        if (sameDatabase) await moveReservations(tx, input.orderId, 'RESERVED', 'CONSUMED');
        await transitionOrder(tx, input.orderId, status, 'SHIPPED');
        const { rows } = await tx.query<{ id: string; sellerId: string; trackingNumber: string; carrier: string }>({
          name: 'shipments-of-order',
          text: `SELECT id, seller_id AS "sellerId", tracking_number AS "trackingNumber", carrier
                 FROM shipments WHERE order_id = $1::uuid ORDER BY seller_id`,
          values: [input.orderId],
        });
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
      const orderDb = await orderDatabase(deps, input);
      let cancelled = 0;
      for (const seller of input.sellers) {
        const result = await shipping.cancelShipment({ idempotencyKey: seller.idempotencyKey, orderId: input.orderId });
        if (result.cancelled) cancelled += 1;
      }
      const sameDatabase = orderDb === db;
      if (!sameDatabase) {
        await orderTransaction(db, (tx) => restoreReservations(tx, input.orderId));
        await deps.betweenCommits?.('cancel-shipments');
      }
      await orderTransaction(orderDb, async (tx) => {
        await lockOrder(tx, input.orderId);
        const { rows: open } = await tx.query<{ id: string }>({
          name: 'shipments-cancel',
          text: `WITH cancelled AS (
                   UPDATE shipments SET status = 'CANCELLED', cancelled_at = now()
                   WHERE order_id = $1::uuid AND status = 'CREATED'
                   RETURNING id, seller_id
                 )
                 SELECT id FROM cancelled ORDER BY seller_id`,
          values: [input.orderId],
        });
        if (sameDatabase) await moveReservations(tx, input.orderId, 'CONSUMED', 'RESERVED');
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

/** The stock half of shipping, on the catalogue database when the order is on another. */
async function consumeReservations(tx: Tx, orderId: string): Promise<void> {
  await lockOrderStock(tx, orderId);
  await moveReservations(tx, orderId, 'RESERVED', 'CONSUMED');
}

/** The stock half of cancelling shipments, on the catalogue database when the order is on another. */
async function restoreReservations(tx: Tx, orderId: string): Promise<void> {
  await lockOrderStock(tx, orderId);
  await moveReservations(tx, orderId, 'CONSUMED', 'RESERVED');
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
  const { rows: moved } = await tx.query<StockLine>({
    name: 'reservations-move',
    text: `UPDATE reservations SET status = $3 WHERE order_id = $1::uuid AND status = $2
           RETURNING product_id AS "productId", quantity`,
    values: [orderId, from, to],
  });
  const sign = to === 'CONSUMED' ? -1 : 1;
  await adjustStock(tx, moved, { onHand: sign, reserved: sign });
}

export type ShippingActivities = ReturnType<typeof createShippingActivities>;
