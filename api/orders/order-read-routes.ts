import { Router, type Response } from 'express';
import { z } from 'zod';
import { isUuid } from '../../domain/ids';
import { isOrderStatus, orderStatuses } from '../../domain/order-status';
import { orderRowFromEvents, ordersReadProjection, type OrderReadRow } from '../../read-models/projections/orders-read';
import { cacheTags } from '../../read-models/projections/projection';
import { actsForCustomer, actsForSeller, allowRoles, ensureVisible, principalOf } from '../access/access';
import type { AppDeps } from '../deps';
import { sqlPoolOf } from '../../platform/sql-pool';
import { sendEntry } from '../http/http-cache';
import { decodeCursor, encodeCursor } from '../http/keyset-cursor';
import { sendOrderAsOf } from './order-event-routes';
import { orderFromInput, orderFromReadRow, orderListItem } from './order-views';
import { orderViewFor, sellerOrderListItem, type WholeOrderView } from './seller-order-view';
import { mayReadOrder, type OrderParties } from './order-access';
import { orderDatabase } from './order-shard';
import { orderHandle, sagaStateIfQuick, startedInput } from './order-workflows';
import { notFound } from '../http/problem';
import {
  awaitMinPositions,
  CONSISTENCY_HEADER,
  markFreshness,
  readEntry,
  type ReadConsistency,
} from '../http/read-consistency';
import { parseOrProblem } from '../http/validation';

/**
 * Order reads, from the read model (read_models.orders_read) through the read cache; never from
 * the write model's tables.
 *
 * GET /v1/orders/{id} falls back, in order, when the read model cannot answer: to the order's
 * events (the projection has not caught up, or a client's `Shopflow-Min-Position` was not reached
 * in time), then to the workflow's input (accepted, but its first step has not recorded it yet).
 * Lists are keyset-paginated, newest first.
 */

const uuid = z.string().refine(isUuid, 'must be a UUID');
export const orderPath = z.object({ orderId: uuid });
export const customerPath = z.object({ customerId: uuid });
export const sellerPath = z.object({ sellerId: uuid });
export const listQuery = z
  .object({
    limit: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be between 1 and 100')
      .max(100, 'must be between 1 and 100')
      .default(20),
    cursor: z.string().max(500, 'must be a cursor from a previous page').optional(),
    status: z
      .string()
      .refine(isOrderStatus, `must be one of ${orderStatuses.join(', ')}`)
      .optional(),
  })
  .strict();

interface ListCursor {
  placedAt: string;
  orderId: string;
}

const isListCursor = (value: unknown): value is ListCursor =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ListCursor).placedAt === 'string' &&
  // Exactly what toISOString wrote: anything else Date.parse accepts may not fit a timestamptz.
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test((value as ListCursor).placedAt) &&
  !Number.isNaN(Date.parse((value as ListCursor).placedAt)) &&
  typeof (value as ListCursor).orderId === 'string' &&
  isUuid((value as ListCursor).orderId);

export function orderReadRoutes(deps: AppDeps): Router {
  const { db, cache } = deps;
  const router = Router();
  const projectionTag = cacheTags.projection(ordersReadProjection.name);

  const readRow = async (orderId: string): Promise<OrderReadRow | undefined> => {
    // On every cache miss of the most read route: plain SQL on the pool rather than through Prisma.
    const { rows } = await sqlPoolOf(db).query<{ row: OrderReadRow }>({
      name: 'order-read-row',
      text: 'SELECT to_jsonb(o) AS row FROM read_models.orders_read o WHERE o.order_id = $1::uuid',
      values: [orderId],
    });
    return rows[0]?.row;
  };

  router.get('/v1/orders/:orderId', async (req, res) => {
    const { orderId } = parseOrProblem(orderPath, req.params, 'path');
    const readable = (order: OrderParties): void =>
      ensureVisible(mayReadOrder(principalOf(req), order), `order ${orderId}`);
    if (req.query.asOf !== undefined) {
      await sendOrderAsOf(deps, orderId, req.query, res, {
        mayRead: (order) => mayReadOrder(principalOf(req), order),
        view: (order) => orderViewFor(principalOf(req), order),
      });
      return;
    }
    const consistency = await awaitMinPositions(req, deps, ordersReadProjection);
    if (consistency !== 'timeout') {
      const load = async () => {
        const row = await readRow(orderId);
        return row && orderFromReadRow(row);
      };
      const entry = await readEntry(cache, consistency, {
        kind: 'order',
        key: orderId,
        tags: [cacheTags.order(orderId), projectionTag],
        load,
      });
      if (entry) {
        const principal = principalOf(req);
        if (consistency === 'reached') res.setHeader(CONSISTENCY_HEADER, 'reached');
        // Operators read every order: only others pay for looking inside the cached body.
        if (principal.role === 'operator') return void sendEntry(req, res, entry);
        const order = JSON.parse(entry.body) as OrderParties & WholeOrderView;
        readable(order);
        // A seller's part is cut from the cached whole order: one cache entry per order, not per seller.
        if (principal.role === 'seller') return void res.json(orderViewFor(principal, order));
        sendEntry(req, res, entry);
        return;
      }
    }
    // The read model is behind (or has not seen this order): its events, on its customer's shard, are the source.
    const orderDb = await orderDatabase(deps, orderId);
    const folded = orderDb && (await orderRowFromEvents(orderDb, orderId, db));
    if (folded) {
      const order = orderFromReadRow(folded);
      readable(order);
      res.setHeader(CONSISTENCY_HEADER, 'fallback');
      res.json(orderViewFor(principalOf(req), order));
      return;
    }
    // Accepted but not yet recorded by the workflow's first step: answer from what it was started with.
    const input = await startedInput(deps, orderId);
    if (!input) throw notFound(`order ${orderId} does not exist`);
    const order = orderFromInput(input, await sagaStateIfQuick(deps, orderHandle(deps.temporal, orderId)));
    readable(order);
    res.setHeader(CONSISTENCY_HEADER, 'fallback');
    res.json(orderViewFor(principalOf(req), order));
  });

  router.get('/v1/customers/:customerId/orders', allowRoles('customer', 'operator'), async (req, res) => {
    const { customerId } = parseOrProblem(customerPath, req.params, 'path');
    ensureVisible(actsForCustomer(principalOf(req), customerId), `customer ${customerId}`);
    const query = parseOrProblem(listQuery, req.query, 'query');
    const cursor = decodeCursor(query.cursor, isListCursor);
    await sendList(req, res, deps, await awaitMinPositions(req, deps, ordersReadProjection), {
      key: `customer:${customerId}:${query.status ?? '*'}:${query.limit}:${query.cursor ?? ''}`,
      tags: [cacheTags.customer(customerId), projectionTag],
      sql: `SELECT to_jsonb(o) AS row FROM read_models.orders_read o
            WHERE o.customer_id = $1::uuid AND ($2::text IS NULL OR o.status = $2)
              AND ($3::timestamptz IS NULL OR (o.placed_at, o.order_id) < ($3::timestamptz, $4::uuid))
            ORDER BY o.placed_at DESC, o.order_id DESC LIMIT $5`,
      params: [customerId, query.status ?? null, cursor?.placedAt ?? null, cursor?.orderId ?? null, query.limit + 1],
      limit: query.limit,
    });
  });

  router.get('/v1/sellers/:sellerId/orders', allowRoles('seller', 'operator'), async (req, res) => {
    const { sellerId } = parseOrProblem(sellerPath, req.params, 'path');
    ensureVisible(actsForSeller(principalOf(req), sellerId), `seller ${sellerId}`);
    const query = parseOrProblem(listQuery, req.query, 'query');
    const cursor = decodeCursor(query.cursor, isListCursor);
    await sendList(req, res, deps, await awaitMinPositions(req, deps, ordersReadProjection), {
      key: `seller:${sellerId}:${query.status ?? '*'}:${query.limit}:${query.cursor ?? ''}`,
      tags: [cacheTags.seller(sellerId), projectionTag],
      sql: `SELECT to_jsonb(o) AS row FROM read_models.seller_orders_read s
            JOIN read_models.orders_read o ON o.order_id = s.order_id
            WHERE s.seller_id = $1::uuid AND ($2::text IS NULL OR o.status = $2)
              AND ($3::timestamptz IS NULL OR (s.placed_at, s.order_id) < ($3::timestamptz, $4::uuid))
            ORDER BY s.placed_at DESC, s.order_id DESC LIMIT $5`,
      params: [sellerId, query.status ?? null, cursor?.placedAt ?? null, cursor?.orderId ?? null, query.limit + 1],
      limit: query.limit,
      // The seller's part of each order, whoever reads the seller's list.
      item: (row) => sellerOrderListItem(row, sellerId),
    });
  });

  return router;
}

interface ListRequest {
  key: string;
  tags: string[];
  sql: string;
  params: unknown[];
  limit: number;
  /** What each row becomes in the page: orderListItem unless given. */
  item?: (row: OrderReadRow) => object;
}

/** One page: `limit` orders and the cursor of the next page (null on the last). */
async function sendList(
  req: Parameters<typeof sendEntry>[0],
  res: Response,
  { db, cache }: AppDeps,
  consistency: ReadConsistency,
  list: ListRequest,
): Promise<void> {
  const load = async () => {
    const rows = (await db.$queryRawUnsafe<{ row: OrderReadRow }[]>(list.sql, ...list.params)).map((r) => r.row);
    const page = rows.slice(0, list.limit);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > list.limit && last
        ? encodeCursor({ placedAt: new Date(last.placed_at).toISOString(), orderId: last.order_id })
        : null;
    return { items: page.map((row) => (list.item ?? orderListItem)(row)), nextCursor };
  };
  markFreshness(res, consistency);
  const entry = await readEntry(cache, consistency, { kind: 'orderList', key: list.key, tags: list.tags, load });
  sendEntry(req, res, entry!);
}
