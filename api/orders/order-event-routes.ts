import { Router, type Response } from 'express';
import { z } from 'zod';
import { isUuid } from '../../domain/ids';
import { formatMoney, money } from '../../domain/money';
import { ORDER_AGGREGATE, type OrderState } from '../../domain/order-events';
import type { Database } from '../../platform/database';
import { currentVersion, loadAggregate, readEvents, type LoadedAggregate } from '../../events/event-store';
import { allowRoles, ensureVisible, principalOf } from '../access/access';
import type { AppDeps } from '../deps';
import { actsForOrderCustomer, type OrderParties } from './order-access';
import { orderDatabase } from './order-shard';
import { notFound } from '../http/problem';
import { parseOrProblem } from '../http/validation';

/**
 * The order's audit trail (its domain events, oldest first, by page) and the order as it was at an
 * earlier version or time, rebuilt from its snapshot and events.
 */

export const EVENTS_PAGE_DEFAULT = 50;
export const EVENTS_PAGE_MAX = 200;

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,10}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be between ${min} and ${max}`).max(max, `must be between ${min} and ${max}`));

export const orderPath = z.object({ orderId: z.string().refine(isUuid, 'must be a UUID') });
export const eventsQuery = z
  .object({
    after: wholeNumber(0, 2_147_483_647).optional(),
    limit: wholeNumber(1, EVENTS_PAGE_MAX).optional(),
  })
  .strict();

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** `asOf`: a version (a positive whole number) or an ISO 8601 time. */
export type AsOf = { version: number } | { time: Date };
const asOfValue = z.string().transform((value, ctx): AsOf => {
  if (/^\d{1,10}$/.test(value) && Number(value) >= 1 && Number(value) <= 2_147_483_647) {
    return { version: Number(value) };
  }
  const time = ISO_TIME.test(value) ? new Date(value) : undefined;
  if (time && !Number.isNaN(time.getTime())) return { time };
  ctx.addIssue({ code: 'custom', message: 'must be a positive version number or an ISO 8601 time' });
  return z.NEVER;
});
export const asOfQuery = z.object({ asOf: asOfValue });

export function orderEventRoutes(deps: AppDeps): Router {
  const router = Router();

  router.get('/v1/orders/:orderId/events', allowRoles('customer', 'operator'), async (req, res) => {
    const { orderId } = parseOrProblem(orderPath, req.params, 'path');
    const { after = 0, limit = EVENTS_PAGE_DEFAULT } = parseOrProblem(eventsQuery, req.query, 'query');
    ensureVisible(await actsForOrderCustomer(deps, principalOf(req), orderId), `order ${orderId}`);
    // The order's events are on its customer's shard; an order whose customer nobody knows does not exist.
    const db = await orderDatabase(deps, orderId);
    if (!db) throw notFound(`order ${orderId} does not exist`);
    const page = await readEvents(db, orderId, { afterVersion: after, limit: limit + 1 });
    if (page.length === 0 && !(await orderExists(db, orderId))) throw notFound(`order ${orderId} does not exist`);
    const events = page.slice(0, limit);
    res.json({
      orderId,
      events: events.map((e) => ({
        eventId: e.eventId,
        version: e.version,
        type: e.type,
        occurredAt: e.occurredAt.toISOString(),
        payload: e.payload,
        correlation: e.correlation,
      })),
      // The version to pass as `after` for the next page; null on the last page.
      nextAfter: page.length > limit ? events[events.length - 1]!.version : null,
    });
  });

  return router;
}

/** GET /v1/orders/{id}?asOf=…: the order rebuilt as of a version or time; 404 when it did not exist then. */
export async function sendOrderAsOf(
  deps: AppDeps,
  orderId: string,
  query: unknown,
  res: Response,
  caller: {
    mayRead: (order: OrderParties) => boolean;
    /** What of the rebuilt order this caller sees (a seller: their part). */
    view: (order: ReturnType<typeof orderAsOfView>) => object;
  },
): Promise<void> {
  const { asOf } = parseOrProblem(asOfQuery, query, 'query');
  const db = await orderDatabase(deps, orderId);
  if (!db) throw notFound(`order ${orderId} does not exist`);
  // Who may read it is settled on the order as it is now, before any answer that would say
  // whether it exists or how many versions it has.
  const latest = await loadAggregate<OrderState>(db, ORDER_AGGREGATE, orderId);
  if (!latest || !caller.mayRead(latest.state)) throw notFound(`order ${orderId} does not exist`);
  const loaded = await loadAggregate<OrderState>(
    db,
    ORDER_AGGREGATE,
    orderId,
    'version' in asOf ? { asOfVersion: asOf.version } : { asOfTime: asOf.time },
  );
  if (!loaded) {
    const when = 'version' in asOf ? `at version ${asOf.version}` : `at ${asOf.time.toISOString()}`;
    throw notFound(`order ${orderId} did not exist ${when}`);
  }
  if ('version' in asOf && loaded.version < asOf.version) {
    throw notFound(`order ${orderId} has no version ${asOf.version}; its latest is ${loaded.version}`);
  }
  res.json(caller.view(orderAsOfView(orderId, loaded)));
}

function orderAsOfView(orderId: string, { state, version, occurredAt }: LoadedAggregate<OrderState>) {
  const format = (minor: number) => formatMoney(money(minor, state.currency));
  return {
    orderId,
    version,
    /** When the last event of this version happened. */
    asOf: occurredAt.toISOString(),
    workflowId: state.workflowId,
    customerId: state.customerId,
    status: state.status,
    failureReason: state.failureReason,
    cancellationReason: state.cancellationReason,
    currency: state.currency,
    ...state.totals,
    subtotal: format(state.totals.subtotalMinor),
    commission: format(state.totals.commissionMinor),
    total: format(state.totals.totalMinor),
    shippingAddress: state.shippingAddress,
    lines: state.lines.map((l) => ({ ...l, lineTotal: format(l.lineTotalMinor) })),
    inventory: state.inventory,
    payment: state.payment,
    shipments: state.shipments,
  };
}

async function orderExists(db: Database, orderId: string): Promise<boolean> {
  const row = await db.order.findUnique({ where: { id: orderId }, select: { id: true } });
  return row !== null || (await currentVersion(db, orderId)) > 0;
}
