import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { CONSISTENCY_HEADER } from '../../api/http/read-consistency';
import { orderWorkflowId } from '../../domain/ids';
import { ORDER_AGGREGATE } from '../../domain/order-events';
import { MIN_POSITION_HEADER } from '../../read-models/projections/projection';
import { pickAny, randomOrderRequest } from './random-order';
import { isOrderStatus, isTerminal } from '../../domain/order-status';

/**
 * One order's life as its users drive it over HTTP: a customer places it, follows it until it
 * has shipped, a carrier reports each shipment delivered, and the order's end is awaited.
 */

/** The event version of ShipmentsCreated: an order read at or past it has its shipments. */
const SHIPPED_VERSION = 4;
/** How long a journey follows its order before it gives up on seeing it shipped (a backlog takes a while). */
const FOLLOW_TIMEOUT_MS = 5 * 60_000;
/** How long one read may wait for the order to ship (the API's READ_YOUR_WRITES_MAX_WAIT_MS by default). */
const FOLLOW_WAIT_S = 30;

export interface JourneyWorld {
  apiUrl: string;
  /** Customer keys: each journey places its order as one of them. */
  customerKeys: readonly string[];
  /** An operator key: the carrier's (delivery reports need seller or operator). */
  carrierKey: string;
  productIds: readonly string[];
  temporal: Client;
}

export interface Journey {
  orderId: string;
  /** POST /v1/orders until its answer. */
  submitMs: number;
  /** When the order was sent (performance.now()), to tell warm-up from steady state. */
  sentAt: number;
  /** From sending POST /v1/orders until the workflow ended DELIVERED. */
  endToEndMs: number;
  httpRequests: number;
  /** Order reads the read model could not answer in time (served from the event store instead). */
  fallbackReads: number;
}

interface OrderView {
  status: string;
  failureReason?: string | null;
  shipments: { shipmentId: string }[];
}

class Http {
  requests = 0;
  fallbacks = 0;

  constructor(private readonly apiUrl: string) {}

  async call<T>(method: string, path: string, key: string, headers: Record<string, string>, body?: unknown) {
    this.requests += 1;
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    if (response.headers.get(CONSISTENCY_HEADER) === 'fallback') this.fallbacks += 1;
    return JSON.parse(text) as T;
  }
}

/** Places an order and drives it to DELIVERED; throws on any unexpected answer. */
export async function orderJourney(world: JourneyWorld, onSubmitted?: (submitMs: number) => void): Promise<Journey> {
  const http = new Http(world.apiUrl);
  const customerKey = pickAny(world.customerKeys);
  const sentAt = performance.now();
  const { orderId } = await http.call<{ orderId: string }>(
    'POST',
    '/v1/orders',
    customerKey,
    { 'idempotency-key': randomUUID() },
    randomOrderRequest(world.productIds),
  );
  const submitMs = performance.now() - sentAt;
  onSubmitted?.(submitMs);

  const shipped = await followUntilShipped(http, customerKey, orderId);
  for (const { shipmentId } of shipped.shipments) {
    await http.call('POST', `/v1/shipments/${shipmentId}/delivered`, world.carrierKey, {}, {});
  }
  // A long poll on the Temporal server: cheaper than reading the order again and again.
  const result = (await world.temporal.workflow.getHandle(orderWorkflowId(orderId)).result()) as { status: string };
  if (result.status !== 'DELIVERED') throw new Error(`order ${orderId} ended ${result.status}`);
  return {
    orderId,
    submitMs,
    sentAt,
    endToEndMs: performance.now() - sentAt,
    httpRequests: http.requests,
    fallbackReads: http.fallbacks,
  };
}

/**
 * GET /v1/orders/{id} naming the ShipmentsCreated version, as a long poll (`Prefer: wait`): the
 * API waits up to that long for the read model to reach it, so a read usually answers SHIPPED;
 * after a timed-out wait it answers what there is, and the journey asks again. A client that only
 * waits the default (READ_YOUR_WRITES_WAIT_MS, 2 s) gets a fallback read, folded from the events,
 * whenever the order takes longer than that to ship, as it does at 32 clients.
 */
async function followUntilShipped(http: Http, key: string, orderId: string): Promise<OrderView> {
  const deadline = performance.now() + FOLLOW_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const order = await http.call<OrderView>('GET', `/v1/orders/${orderId}`, key, {
      [MIN_POSITION_HEADER]: `${ORDER_AGGREGATE}:${orderId}:${SHIPPED_VERSION}`,
      Prefer: `wait=${FOLLOW_WAIT_S}`,
    });
    if (order.status === 'SHIPPED') return order;
    if (isOrderStatus(order.status) && isTerminal(order.status))
      throw new Error(`order ${orderId} ended ${order.status}: ${order.failureReason ?? ''}`);
  }
  throw new Error(`order ${orderId} not shipped within ${FOLLOW_TIMEOUT_MS / 1000} s`);
}
