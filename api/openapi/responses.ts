import { z } from 'zod';
import { orderStatuses } from '../../domain/order-status';
import { shippingAddressSchema } from '../orders/order-routes';

/**
 * The bodies the API answers with, as zod schemas for the OpenAPI document. Requests are validated
 * by the routes' own schemas; these describe what the handlers build (api/orders/order-views.ts,
 * catalogue/product-store.ts, read-models/product-search/search.ts …) and the contract test holds every response of the
 * integration suite to them. Objects are closed in responses: a field a handler adds without
 * documenting it fails that test.
 */

export const uuid = z.string().meta({ format: 'uuid' });
export const timestamp = z.string().meta({ format: 'date-time', description: 'ISO 8601, UTC' });
const minor = z.int().meta({ description: 'An amount in minor units of the currency (cents)' });
const formatted = z.string().meta({ description: 'The amount formatted with its currency, e.g. `12.50 EUR`' });
const currency = z.string().meta({ description: 'ISO 4217 code', example: 'EUR' });

export const orderStatus = z.enum(orderStatuses).meta({ id: 'OrderStatus' });

export const fieldProblem = z.object({
  field: z.string().meta({ description: 'The bad field: `body.x`, `query.x`, `path.x` or `header.X`' }),
  message: z.string(),
  code: z.string().optional().meta({ description: 'A stable code for the kind of problem, where there is one' }),
});

/** RFC 9457 problem details; open, as problem types may add extension members (e.g. `orderStatus`). */
export const problemDetails = z
  .looseObject({
    type: z.string().meta({ format: 'uri', example: 'https://shopflow.dev/problems/validation-error' }),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    instance: z.string().optional().meta({ description: 'The request path' }),
    errors: z.array(fieldProblem).optional().meta({ description: 'One entry per bad field' }),
  })
  .meta({ id: 'ProblemDetails' });

export const shippingAddress = shippingAddressSchema.meta({ id: 'ShippingAddress' });

const totals = {
  currency,
  itemCount: z.int(),
  subtotalMinor: minor,
  commissionMinor: minor,
  totalMinor: minor,
  subtotal: formatted,
  commission: formatted,
  total: formatted,
};

const lineCore = {
  lineNo: z.int(),
  productId: uuid,
  sellerId: uuid,
  quantity: z.int(),
  unitPriceMinor: minor,
  lineTotalMinor: minor,
  commissionRateBps: z.int(),
  commissionMinor: minor,
  lineTotal: formatted,
};

const shipmentStatus = z.enum(['CREATED', 'DELIVERED', 'CANCELLED']);

/** GET /v1/orders/{id}: from the read model, its events, or (before its first step) the workflow's input. */
export const order = z
  .object({
    orderId: uuid,
    workflowId: z.string(),
    version: z.int().optional().meta({ description: 'Absent until the order is recorded' }),
    customerId: uuid,
    customer: z.object({ name: z.string(), email: z.string() }).optional(),
    status: orderStatus,
    statusLabel: z.string().optional(),
    failureReason: z.string().nullable(),
    ...totals,
    shippingAddress,
    sellers: z.array(z.object({ sellerId: uuid, name: z.string() })).optional(),
    lines: z.array(z.object({ ...lineCore, productName: z.string(), sellerName: z.string().optional() })),
    shipments: z.array(
      z.object({
        shipmentId: uuid,
        sellerId: uuid,
        carrier: z.string(),
        trackingNumber: z.string(),
        status: shipmentStatus,
        createdAt: timestamp,
        deliveredAt: timestamp.nullable(),
        cancelledAt: timestamp.nullable(),
      }),
    ),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Order' });

/** GET /v1/orders/{id}?asOf=…: the order's state rebuilt from its events. */
export const orderAsOf = z
  .object({
    orderId: uuid,
    version: z.int(),
    asOf: timestamp.meta({ description: 'When the last event of this version happened' }),
    workflowId: z.string(),
    customerId: uuid,
    status: orderStatus,
    failureReason: z.string().nullable(),
    cancellationReason: z.string().nullable(),
    ...totals,
    shippingAddress,
    lines: z.array(z.object({ ...lineCore, name: z.string() })),
    inventory: z.object({
      hold: z.enum(['NONE', 'RESERVED', 'CONSUMED', 'RELEASED']),
      lines: z.array(z.object({ productId: uuid, quantity: z.int() })),
    }),
    payment: z
      .object({ paymentId: z.string(), amountMinor: minor, status: z.enum(['CAPTURED', 'REFUNDED']) })
      .nullable(),
    shipments: z.array(
      z.object({
        shipmentId: uuid,
        sellerId: uuid,
        trackingNumber: z.string(),
        carrier: z.string(),
        status: shipmentStatus,
        deliveredAt: timestamp.nullable(),
      }),
    ),
  })
  .meta({ id: 'OrderAsOf' });

/** One page of a keyset-paginated list: its items, and the cursor of the next page. */
const listPage = <Item extends z.ZodType>(item: Item) =>
  z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last' }),
  });

export const orderList = listPage(
  z.object({
    orderId: uuid,
    status: orderStatus,
    statusLabel: z.string(),
    itemCount: z.int(),
    totalMinor: minor,
    total: formatted,
    currency,
    productNames: z.array(z.string()),
    sellerNames: z.array(z.string()),
    customerName: z.string(),
    placedAt: timestamp,
  }),
).meta({ id: 'OrderList' });

/**
 * GET /v1/orders/{id} as a seller reads it (api/orders/seller-order-view.ts): the seller's lines and
 * shipment, what those lines come to, and where to ship; nothing of the customer's contact, other
 * sellers or the order's totals and payment. With `asOf`, the same part of the rebuilt order.
 */
export const sellerOrder = z
  .object({
    orderId: uuid,
    sellerId: uuid.meta({ description: 'The seller whose part this is: the caller' }),
    version: z.int().optional().meta({ description: 'With `asOf` only' }),
    asOf: timestamp.optional().meta({ description: 'With `asOf` only: when the last event of this version happened' }),
    status: orderStatus.meta({ description: "The whole order's status" }),
    statusLabel: z.string().optional(),
    currency,
    itemCount: z.int().meta({ description: "Units of the seller's lines" }),
    subtotalMinor: minor.meta({ description: "The seller's lines' total" }),
    commissionMinor: minor.meta({ description: "The marketplace's commission on the seller's lines" }),
    subtotal: formatted,
    commission: formatted,
    shipTo: shippingAddress,
    // The whole order's line without its seller: the caller is that seller.
    lines: z.array(z.object({ ...lineCore, productName: z.string() }).omit({ sellerId: true })),
    shipment: z
      .object({
        shipmentId: uuid,
        carrier: z.string(),
        trackingNumber: z.string(),
        status: shipmentStatus,
        deliveredAt: timestamp.nullable(),
      })
      .nullable()
      .meta({ description: "The seller's shipment; null until the order ships" }),
    createdAt: timestamp.optional(),
    updatedAt: timestamp.optional(),
  })
  .meta({ id: 'SellerOrder' });

/** GET /v1/sellers/{id}/orders: each order's part that is the seller's. */
export const sellerOrderList = listPage(
  z.object({
    orderId: uuid,
    status: orderStatus,
    statusLabel: z.string(),
    itemCount: z.int(),
    subtotalMinor: minor,
    subtotal: formatted,
    currency,
    productNames: z.array(z.string()),
    shipToName: z.string().meta({ description: "The shipping address's recipient" }),
    placedAt: timestamp,
  }),
).meta({ id: 'SellerOrderList' });

export const orderAccepted = z
  .object({ orderId: uuid, status: z.literal('PENDING'), workflowId: z.string() })
  .meta({ id: 'OrderAccepted' });

export const orderEvents = z
  .object({
    orderId: uuid,
    events: z.array(
      z.object({
        eventId: uuid,
        version: z.int(),
        type: z.string().meta({ example: 'OrderPlaced' }),
        occurredAt: timestamp,
        payload: z.record(z.string(), z.unknown()),
        correlation: z.object({
          causationKey: z.string(),
          workflowId: z.string().optional(),
          runId: z.string().optional(),
          activity: z.string().optional(),
          userId: z.string().optional(),
        }),
      }),
    ),
    nextAfter: z.int().nullable().meta({ description: 'Pass as `after` for the next page; null on the last' }),
  })
  .meta({ id: 'OrderEvents' });

const sagaStep = z.enum([
  'record-order',
  'reserve-inventory',
  'take-payment',
  'create-shipments',
  'await-delivery',
  'compensating',
  'completed',
  'delivery-overdue',
]);

/** workflows/orders/order-contract.ts OrderSagaState: the workflow's live state, from its query. */
export const orderSaga = z
  .object({
    orderId: uuid,
    status: orderStatus,
    step: sagaStep,
    completedSteps: z.array(sagaStep),
    compensations: z.array(
      z.object({
        name: z.enum(['cancel-shipments', 'refund-payment', 'release-inventory']),
        outcome: z.enum(['done', 'failed']),
        error: z.string().optional(),
      }),
    ),
    failure: z.object({ step: sagaStep, type: z.string(), message: z.string() }).optional(),
    cancellation: z.object({ requestedAt: timestamp, reason: z.string() }).optional(),
    shipments: z.array(
      z.object({ shipmentId: uuid, sellerId: uuid, trackingNumber: z.string(), delivered: z.boolean() }),
    ),
  })
  .meta({ id: 'OrderSaga' });

export const cancellationAccepted = z
  .object({ orderId: uuid, accepted: z.literal(true), status: orderStatus })
  .meta({ id: 'CancellationAccepted' });

export const shipmentDelivery = z
  .object({
    shipmentId: uuid,
    orderId: uuid,
    status: z.enum(['DELIVERED', 'DELIVERY_REPORTED']),
    deliveredAt: timestamp.nullable(),
  })
  .meta({ id: 'ShipmentDelivery' });
