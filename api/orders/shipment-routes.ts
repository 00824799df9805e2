import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { isUuid, orderWorkflowId } from '../../domain/ids';
import { shipmentDeliveredSignal } from '../../workflows/orders/order-contract';
import { actsForSeller, allowRoles, principalOf } from '../access/access';
import type { AppDeps } from '../deps';
import { sqlPoolOf } from '../../platform/sql-pool';
import { HttpProblem, notFound, problemTypes } from '../http/problem';
import { parseOrProblem } from '../http/validation';

export const shipmentPath = z.object({ shipmentId: z.string().refine(isUuid, 'must be a UUID') });
export const deliveredBody = z
  .object({
    deliveredAt: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date and time, e.g. 2026-11-25T17:00:00Z' })
      .optional(),
  })
  .strict();

/**
 * The delivery report, from the seller (or their carrier, with the seller's key) or an operator. The shipment says which order's workflow to tell; the
 * workflow records the delivery. Carriers retry callbacks, so a repeat of a delivery is a 200.
 *
 * A shipment id does not name its customer, so the shipment is found in the read model
 * (`read_models.orders_read`, whose shipments are indexed for it), in the one read database, never
 * by asking the shards one by one (docs/sharding.md). A shipment booked a moment ago may not be
 * projected yet: the catalogue database's own shipments answer then, which is every shipment while
 * there is one database; with several, a report that comes before the projection is a 404 that the
 * carrier's retry turns into a 202.
 */
export function shipmentRoutes({ db, temporal }: AppDeps): Router {
  const router = Router();

  router.post('/v1/shipments/:shipmentId/delivered', allowRoles('seller', 'operator'), async (req, res) => {
    const { shipmentId } = parseOrProblem(shipmentPath, req.params, 'path');
    const body = parseOrProblem(deliveredBody, req.body, 'body');
    // Once per shipment of every order: plain SQL on the pool rather than a Prisma model call.
    const {
      rows: [shipment],
    } = await sqlPoolOf(db).query<{ orderId: string; sellerId: string; status: string; deliveredAt: Date | null }>({
      name: 'shipment-for-delivery',
      text: `(SELECT o.order_id::text AS "orderId", s."sellerId", s.status, s."deliveredAt"
              FROM read_models.orders_read o,
                   jsonb_to_recordset(o.shipments) AS s("shipmentId" text, "sellerId" text, status text, "deliveredAt" timestamptz)
              WHERE o.shipments @> jsonb_build_array(jsonb_build_object('shipmentId', $1::text)) AND s."shipmentId" = $1::text)
             UNION ALL
             (SELECT order_id::text, seller_id::text, status, delivered_at FROM shipments WHERE id = $1::uuid)
             LIMIT 1`,
      values: [shipmentId.toLowerCase()],
    });
    // Sellers report their own shipments' deliveries (another seller's is a 404, as if none).
    if (!shipment || !actsForSeller(principalOf(req), shipment.sellerId)) {
      throw notFound(`shipment ${shipmentId} does not exist`);
    }
    if (shipment.status === 'CANCELLED') {
      throw new HttpProblem(
        409,
        problemTypes.shipmentCancelled,
        'Shipment cancelled',
        `shipment ${shipmentId} was cancelled and cannot be delivered`,
      );
    }
    if (shipment.status === 'DELIVERED') {
      res.status(200).json({
        shipmentId,
        orderId: shipment.orderId,
        status: 'DELIVERED',
        deliveredAt: shipment.deliveredAt?.toISOString() ?? null,
      });
      return;
    }

    const deliveredAt = body.deliveredAt ? new Date(body.deliveredAt).toISOString() : new Date().toISOString();
    try {
      await temporal.client.workflow
        .getHandle(orderWorkflowId(shipment.orderId))
        .signal(shipmentDeliveredSignal, { shipmentId, deliveredAt });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) {
        throw new HttpProblem(
          409,
          problemTypes.orderClosed,
          'Order closed',
          `order ${shipment.orderId} no longer takes delivery reports`,
        );
      }
      throw error;
    }
    res.status(202).json({ shipmentId, orderId: shipment.orderId, status: 'DELIVERY_REPORTED', deliveredAt });
  });

  return router;
}
