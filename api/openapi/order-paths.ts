import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import type { Config } from '../../platform/config';
import { asOfQuery, eventsQuery, orderPath as eventsPath } from '../orders/order-event-routes';
import { customerPath, listQuery, orderPath as readPath, sellerPath } from '../orders/order-read-routes';
import { cancelBody, createOrderBody, orderPath } from '../orders/order-routes';
import { deliveredBody, shipmentPath } from '../orders/shipment-routes';
import {
  bodyProblems,
  cachedReadHeaders,
  json,
  notModified,
  positionHeader,
  problems,
  readHeaders,
  v1Operation,
} from './operations';
import {
  cancellationAccepted,
  order,
  orderAccepted,
  sellerOrder,
  sellerOrderList,
  orderAsOf,
  orderEvents,
  orderList,
  orderSaga,
  shipmentDelivery,
} from './responses';

/** Orders, their events and saga, the order lists, and the carrier's delivery callback. */
export function orderPaths(config: Config): ZodOpenApiPathsObject {
  const jsonBody = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });
  return {
    '/v1/orders': {
      post: v1Operation('orders', 'Submit an order', {
        description:
          "Prices the order from the catalogue and starts its workflow. A customer's key orders for its own " +
          'customer (customerId may be omitted); an operator names the customer. The same Idempotency-Key and ' +
          'body return the first answer again.',
        requestParams: {
          header: z.object({
            'Idempotency-Key': z
              .string()
              .regex(/^[A-Za-z0-9_\-:.]{1,255}$/)
              .meta({ description: 'A key unique to this order, e.g. a UUID; retries send the same one' }),
          }),
        },
        requestBody: jsonBody(createOrderBody(config.orders)),
        responses: {
          '202': json('Accepted: the order workflow runs', orderAccepted, 'v1', {
            Location: z.string().meta({ example: '/v1/orders/3f0c…' }),
            ...positionHeader,
            'Idempotent-Replayed': z.literal('true').optional().meta({ description: 'A replay of the first answer' }),
          }),
          ...problems([...bodyProblems, 403, 409, 422], 'v1', {
            409: 'A request with this Idempotency-Key is still running (retry after Retry-After)',
            422: 'Unknown customer or products, inactive products, or the key reused with another body',
          }),
        },
      }),
    },
    '/v1/orders/{orderId}': {
      get: v1Operation('orders', 'Read an order', {
        description:
          'From the read model through the read cache; from its events when the read model is behind; as of ' +
          'an earlier version or time with `asOf` (then `OrderAsOf`). A seller reads its own part of an order ' +
          'that holds a line of theirs (`SellerOrder`): its lines, its shipment and where to ship; customers and ' +
          'operators read the whole order.',
        requestParams: { path: readPath, query: asOfQuery.partial(), header: readHeaders },
        responses: {
          '200': {
            ...json('The order', z.union([order, orderAsOf, sellerOrder]), 'v1', {
              ...cachedReadHeaders,
              // Answers from the events or the workflow input (Shopflow-Consistency: fallback) are not cached.
              ETag: z.string().optional(),
              'Cache-Control': z.string().optional(),
            }),
          },
          '304': notModified,
          ...problems([400, 404]),
        },
      }),
    },
    '/v1/orders/{orderId}/events': {
      get: v1Operation('orders', "The order's domain events", {
        requestParams: { path: eventsPath, query: eventsQuery },
        responses: { '200': json('Events by version, oldest first', orderEvents), ...problems([400, 403, 404]) },
      }),
    },
    '/v1/orders/{orderId}/saga': {
      get: v1Operation('orders', "The order workflow's live state", {
        requestParams: { path: orderPath },
        responses: { '200': json('The saga state, from a workflow query', orderSaga), ...problems([400, 403, 404]) },
      }),
    },
    '/v1/orders/{orderId}/cancel': {
      post: v1Operation('orders', 'Cancel an order', {
        description: 'Accepted while no shipment exists: the saga stops at its next step and undoes what it did.',
        requestParams: { path: orderPath },
        requestBody: { content: { 'application/json': { schema: cancelBody } } },
        responses: {
          '200': json('Cancellation accepted', cancellationAccepted),
          ...problems([...bodyProblems, 403, 404, 409], 'v1', {
            409: 'Refused: the order is past the point of cancellation, or closed (`orderStatus`)',
          }),
        },
      }),
    },
    '/v1/customers/{customerId}/orders': {
      get: orderListOperation("A customer's orders, newest first", customerPath, orderList),
    },
    '/v1/sellers/{sellerId}/orders': {
      get: orderListOperation(
        "The orders with a seller's lines, newest first: the seller's part of each",
        sellerPath,
        sellerOrderList,
      ),
    },
    '/v1/shipments/{shipmentId}/delivered': {
      post: v1Operation('shipments', "The carrier's delivery callback", {
        requestParams: { path: shipmentPath },
        requestBody: { content: { 'application/json': { schema: deliveredBody } } },
        responses: {
          '200': json('Already delivered (carriers retry callbacks)', shipmentDelivery),
          '202': json('Delivery reported to the order workflow', shipmentDelivery),
          ...problems([...bodyProblems, 403, 404, 409], 'v1', {
            409: 'The shipment was cancelled, or its order takes no more delivery reports',
          }),
        },
      }),
    },
  };
}

/** The two keyset-paginated order lists: the same page, query and answers, by customer or by seller. */
function orderListOperation(
  summary: string,
  path: typeof customerPath | typeof sellerPath,
  page: typeof orderList | typeof sellerOrderList,
) {
  return v1Operation('orders', summary, {
    requestParams: { path, query: listQuery, header: readHeaders },
    responses: {
      '200': json('One page', page, 'v1', cachedReadHeaders),
      '304': notModified,
      ...problems([400, 403, 404]),
    },
  });
}
