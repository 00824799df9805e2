import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { isUuid, orderWorkflowId } from '../../domain/ids';
import type { ShippingAddress } from '../../domain/shipping-address';
import { cancellationRefusal, isOrderStatus } from '../../domain/order-status';
import type { Config } from '../../platform/config';
import {
  cancelOrderUpdate,
  orderStateQuery,
  type CancelOrderResponse,
  type OrderSagaState,
} from '../../workflows/orders/order-contract';
import { allowRoles, ensureVisible, parseBodyActingFor, principalOf } from '../access/access';
import type { AppDeps } from '../deps';
import { actsForOrderCustomer } from './order-access';
import { principalSubject, type Principal } from '../access/principal';
import { requestIdOf } from '../../platform/request-context';
import { createIdempotencyStore, IDEMPOTENT_REPLAYED_HEADER, parseIdempotencyKey, requestHash } from './idempotency';
import { customerDatabase, orderDatabase } from './order-shard';
import { HttpProblem, notFound, problemTypes } from '../http/problem';
import { ORDER_AGGREGATE } from '../../domain/order-events';
import { formatPosition, POSITION_HEADER } from '../../read-models/projections/projection';
import { orderHandle, workflowExists } from './order-workflows';
import { OrderNotAcceptable, placeOrder } from './place-order';
import { parseOrProblem } from '../http/validation';

const CREATE_ORDER_SCOPE = 'POST /v1/orders';

const uuid = z.string().refine(isUuid, 'must be a UUID');
const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

/** The one schema of a shipping address: what a request may send, and what a response shows (OpenAPI). */
export const shippingAddressSchema = z
  .object({
    recipient: text(200),
    line1: text(200),
    line2: text(200).optional(),
    city: text(100),
    postalCode: text(20),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code, e.g. DE')
      .meta({ description: 'ISO 3166-1 alpha-2' }),
  })
  .strict() satisfies z.ZodType<ShippingAddress>;

export function createOrderBody(limits: Config['orders']) {
  const item = z
    .object({
      productId: uuid,
      quantity: z
        .number({ error: 'must be a number' })
        .int('must be a whole number')
        .min(1, `must be between 1 and ${limits.maxQuantity}`)
        .max(limits.maxQuantity, `must be between 1 and ${limits.maxQuantity}`),
    })
    .strict();
  return z
    .object({
      // A customer key's own customer when left out; operators name one.
      customerId: uuid.optional(),
      items: z
        .array(item, { error: 'must be a list of items' })
        .min(1, 'must have at least 1 item')
        .max(limits.maxItems, `must have at most ${limits.maxItems} items`),
      shippingAddress: shippingAddressSchema,
      payment: z.object({ token: z.string().regex(/^tok_[a-z0-9_]{1,60}$/, 'must be a payment token tok_…') }).strict(),
    })
    .strict();
}

/** The order as submitted, with the customer it is for resolved from the key. */
type CreateOrderBody = z.output<ReturnType<typeof createOrderBody>> & { customerId: string };

export const orderPath = z.object({ orderId: uuid });
export const cancelBody = z
  .object({ reason: z.string().max(500, 'must be at most 500 characters').optional() })
  .strict();

/**
 * Orders over HTTP. The API validates, prices from the catalogue and starts the order's workflow;
 * it writes no order rows itself (the workflow's first activity does), so a rejected request leaves
 * nothing behind. Creating an order requires an Idempotency-Key: a retry gets the first answer.
 */
export function orderRoutes(deps: AppDeps): Router {
  const { config, temporal } = deps;
  const router = Router();
  // Built once: a zod schema is costly to construct and the limits never change while running.
  const createOrderSchema = createOrderBody(config.orders);
  const handleOf = (orderId: string) => orderHandle(temporal, orderId);

  router.post('/v1/orders', allowRoles('customer', 'operator'), async (req, res) => {
    const principal = principalOf(req);
    const key = parseIdempotencyKey(req.headers['idempotency-key']);
    const { body: parsed, actingFor } = parseBodyActingFor(req, createOrderSchema, 'customerId');
    const body: CreateOrderBody = { ...parsed, customerId: actingFor };
    const scope = createOrderScope(principal);
    // The key is kept with the customer's orders, on their shard (moved with them).
    const idempotency = createIdempotencyStore(await customerDatabase(deps, body.customerId), config.idempotency);

    const claim = await idempotency.begin(scope, key, requestHash(body));
    const replay = (status: number, replayed: unknown): void => {
      deps.metrics?.idempotentReplays.inc({ scope: CREATE_ORDER_SCOPE });
      res.set(IDEMPOTENT_REPLAYED_HEADER, 'true');
      sendAccepted(res, status, replayed);
    };
    if (claim.kind === 'replay') {
      replay(claim.status, claim.body);
      return;
    }
    // The first answer is not stored when it is given: the order's workflow existing is what says
    // the first request succeeded, and the answer follows from the order id. Stored now, for the next.
    if (claim.kind === 'in-progress' && claim.resourceId && (await workflowExists(handleOf(claim.resourceId)))) {
      const answer = acceptedOrder(claim.resourceId);
      await idempotency.complete(scope, key, 202, answer);
      replay(202, answer);
      return;
    }
    if (claim.kind === 'mismatch') {
      throw new HttpProblem(
        422,
        problemTypes.idempotencyKeyReused,
        'Idempotency key reused',
        'this Idempotency-Key was already used with a different request body; use a new key for a new request',
      );
    }
    if (claim.kind === 'in-progress') {
      throw new HttpProblem(
        409,
        problemTypes.idempotencyKeyInUse,
        'Request in progress',
        'a request with this Idempotency-Key is still being processed; retry later',
        undefined,
        { 'Retry-After': '1' },
      );
    }

    const orderId = claim.resourceId;
    const workflowId = orderWorkflowId(orderId);
    try {
      // A takeover may follow a first attempt that got as far as starting the workflow.
      if (!claim.resumed || !(await workflowExists(handleOf(orderId)))) {
        await placeOrder(deps, { orderId, request: body, requestId: requestIdOf(req), firstAttempt: !claim.resumed });
        req.log?.info({ orderId, workflowId }, 'order workflow started');
        // Counted where the workflow starts: a resumed key whose workflow exists, or a replay, is no new order.
        deps.metrics?.ordersSubmitted.inc();
      }
    } catch (error) {
      // "Already started" can only mean an earlier attempt with this key started it: that is success.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) {
        // Refused before any effect: nothing is kept. Otherwise the outcome is unknown: a retry resumes.
        if (!(error instanceof OrderNotAcceptable)) {
          await idempotency.release(scope, key);
          throw error;
        }
        await idempotency.abandon(scope, key);
        throw new HttpProblem(
          422,
          problemTypes.unprocessableOrder,
          'Order cannot be accepted',
          error.message,
          error.problems.map((problem) => ({ ...problem, field: `body.${problem.field}` })),
        );
      }
    }
    const accepted = acceptedOrder(orderId);
    deps.orderCustomers?.set(orderId, body.customerId.toLowerCase());
    // A first attempt leaves its claim as it is (see above); a takeover records what it resumed.
    if (claim.resumed) await idempotency.complete(scope, key, 202, accepted);
    sendAccepted(res, 202, accepted);
  });

  router.get('/v1/orders/:orderId/saga', allowRoles('customer', 'operator'), async (req, res) => {
    const { orderId } = parseOrProblem(orderPath, req.params, 'path');
    await ensureOrderCustomer(deps, req, orderId);
    try {
      const state: OrderSagaState = await handleOf(orderId).query(orderStateQuery);
      res.json(state);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw notFound(`order ${orderId} does not exist`);
      throw error;
    }
  });

  router.post('/v1/orders/:orderId/cancel', allowRoles('customer', 'operator'), async (req, res) => {
    const { orderId } = parseOrProblem(orderPath, req.params, 'path');
    const { reason } = parseOrProblem(cancelBody, req.body, 'body');
    await ensureOrderCustomer(deps, req, orderId);
    const handle = handleOf(orderId);
    let outcome: CancelOrderResponse;
    try {
      outcome = await handle.executeUpdate(cancelOrderUpdate, { args: [reason === undefined ? {} : { reason }] });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError || isCompletedError(error)) {
        throw await closedOrNotFound(deps, handle, orderId);
      }
      throw error;
    }
    if (!outcome.accepted) {
      throw new HttpProblem(409, problemTypes.cancellationRefused, 'Cancellation refused', outcome.reason);
    }
    res.json({ orderId, accepted: true, status: outcome.status });
  });

  return router;
}

/** Idempotency keys are the caller's own: another caller's same key neither replays nor blocks a request. */
export const createOrderScope = (principal: Principal): string =>
  `${CREATE_ORDER_SCOPE} ${principalSubject(principal)}`;

/** 404 (as if there were no such order) unless the caller acts for the order's customer. */
async function ensureOrderCustomer(deps: AppDeps, req: Request, orderId: string): Promise<void> {
  ensureVisible(await actsForOrderCustomer(deps, principalOf(req), orderId), `order ${orderId}`);
}

/** The answer to an accepted order, the same on its first answer and on every replay. */
function acceptedOrder(orderId: string) {
  return { orderId, status: 'PENDING', workflowId: orderWorkflowId(orderId) };
}

/** 202 bodies carry the order id; the Location points at it, on the first answer and on replays. */
function sendAccepted(res: Response, status: number, body: unknown): void {
  const orderId = (body as { orderId?: unknown } | null)?.orderId;
  if (status === 202 && typeof orderId === 'string') {
    res.location(`/v1/orders/${orderId}`);
    // The order's first event (OrderPlaced, version 1): a read that sends it back waits for it.
    res.setHeader(
      POSITION_HEADER,
      formatPosition({ aggregateType: ORDER_AGGREGATE, aggregateId: orderId, version: 1 }),
    );
  }
  res.status(status).json(body);
}

/** An update that reached a closed workflow: 409 with the order's final status; 404 when there is no order. */
async function closedOrNotFound(deps: AppDeps, handle: WorkflowHandle, orderId: string): Promise<HttpProblem> {
  if (!(await workflowExists(handle))) return notFound(`order ${orderId} does not exist`);
  const db = await orderDatabase(deps, orderId);
  const row = db && (await db.order.findUnique({ where: { id: orderId }, select: { status: true } }));
  const status = row && isOrderStatus(row.status) ? row.status : undefined;
  return new HttpProblem(
    409,
    problemTypes.orderClosed,
    'Order closed',
    status ? (cancellationRefusal(status, false) ?? `order is ${status}`) : `order ${orderId} is closed`,
    undefined,
    {},
    { orderStatus: status },
  );
}

function isCompletedError(error: unknown): boolean {
  return error instanceof Error && /workflow execution already completed/i.test(error.message);
}
