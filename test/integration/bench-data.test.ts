import { generateMarketplace, orderPlanner, type World } from '../../bench/support/marketplace-data';
import { ORDER_AGGREGATE, replayOrderEvents, type OrderEvent } from '../../domain/order-events';
import { createDatabase, type Database } from '../../platform/database';
import { ordersReadProjection } from '../../read-models/projections/orders-read';
import { rebuildProjection } from '../../read-models/projections/rebuild';
import { catchUp } from '../../read-models/projections/runner';
import { createOutboxDatabase, type OutboxDatabase } from '../support/outbox';

/**
 * The read benchmark's data generator (bench/support/marketplace-data.ts) at a tiny scale: what it
 * writes is a coherent history (events a correct writer could have appended, write-model rows
 * equal to their fold) from which the orders_read projection builds one row per order.
 */

const ORDERS = 50;
let outbox: OutboxDatabase;
let db: Database;

beforeAll(async () => {
  outbox = await createOutboxDatabase('bench_data');
  db = createDatabase({ database: { url: outbox.url, poolSize: 4 } });
  await generateMarketplace(db, outbox.pool, {
    sellers: 4,
    products: 30,
    customers: 10,
    orders: ORDERS,
    seed: 42,
    endAt: new Date('2026-11-01T00:00:00Z'),
    // A few days and small chunks: lifecycles span many chunks, so events of one chunk's orders
    // are written with later chunks' (the time ordering across chunks is exercised).
    days: 4,
    ordersPerChunk: 7,
  });
}, 120_000);

afterAll(async () => {
  await db?.$disconnect();
  await outbox?.drop();
});

interface EventRow {
  aggregate_id: string;
  version: number;
  event_type: string;
  payload: unknown;
  occurred_at: Date;
}

async function eventsByOrder(): Promise<Map<string, EventRow[]>> {
  const { rows } = await outbox.pool.query<EventRow>(
    `SELECT e.aggregate_id, e.version, e.event_type, e.payload, e.occurred_at FROM domain_events e
     WHERE e.aggregate_type = $1 ORDER BY e.position`,
    [ORDER_AGGREGATE],
  );
  const byOrder = new Map<string, EventRow[]>();
  for (const row of rows) byOrder.set(row.aggregate_id, [...(byOrder.get(row.aggregate_id) ?? []), row]);
  return byOrder;
}

test('every order has OrderPlaced as version 1 and contiguous versions, in position and time order', async () => {
  const byOrder = await eventsByOrder();
  expect(byOrder.size).toBe(ORDERS);
  for (const events of byOrder.values()) {
    expect(events[0]!.event_type).toBe('OrderPlaced');
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    const times = events.map((e) => e.occurred_at.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }
  // Across orders too the store is in time order, as a store written live is.
  const { rows } = await outbox.pool.query<{ out_of_order: number }>(
    `SELECT count(*)::int AS out_of_order FROM (
       SELECT occurred_at < lag(occurred_at) OVER (ORDER BY position) AS earlier FROM domain_events WHERE aggregate_type = $1
     ) t WHERE earlier`,
    [ORDER_AGGREGATE],
  );
  expect(rows[0]!.out_of_order).toBe(0);
});

test('the write model is the fold of each order’s events (status, totals, lines, payment)', async () => {
  const byOrder = await eventsByOrder();
  const { rows: orders } = await outbox.pool.query<{
    id: string;
    status: string;
    failure_reason: string | null;
    item_count: number;
    subtotal_minor: string;
    commission_minor: string;
    total_minor: string;
    lines: number;
    line_total_minor: string;
    payment_minor: string | null;
    payment_status: string | null;
  }>(
    `SELECT o.id, o.status, o.failure_reason, o.item_count, o.subtotal_minor, o.commission_minor, o.total_minor,
       (SELECT count(*)::int FROM order_lines l WHERE l.order_id = o.id) AS lines,
       (SELECT sum(line_total_minor) FROM order_lines l WHERE l.order_id = o.id) AS line_total_minor,
       p.amount_minor AS payment_minor, p.status AS payment_status
     FROM orders o LEFT JOIN payments p ON p.order_id = o.id`,
  );
  expect(orders).toHaveLength(ORDERS);
  const statuses = new Set<string>();
  for (const order of orders) {
    const events = byOrder.get(order.id)!.map((e) => ({ type: e.event_type, payload: e.payload }) as OrderEvent);
    const state = replayOrderEvents(events)!;
    statuses.add(state.status);
    expect(order.status).toBe(state.status);
    expect(order.failure_reason).toBe(state.failureReason ?? state.cancellationReason);
    expect([order.item_count, Number(order.subtotal_minor), Number(order.commission_minor)]).toEqual([
      state.totals.itemCount,
      state.totals.subtotalMinor,
      state.totals.commissionMinor,
    ]);
    expect(Number(order.total_minor)).toBe(state.totals.totalMinor);
    expect(order.lines).toBe(state.lines.length);
    expect(Number(order.line_total_minor)).toBe(state.totals.subtotalMinor);
    expect(order.payment_minor === null ? null : Number(order.payment_minor)).toBe(state.payment?.amountMinor ?? null);
    expect(order.payment_status).toBe(state.payment?.status ?? null);
  }
  // The history has a mix of outcomes, not only happy paths.
  expect([...statuses]).toEqual(expect.arrayContaining(['DELIVERED', 'FAILED', 'CANCELLED']));
});

test('imported history leaves nothing for the relay: no order outbox rows, nothing pending', async () => {
  const { rows } = await outbox.pool.query<{ orders: number; pending: number; products: number }>(
    `SELECT count(*) FILTER (WHERE aggregate_type = $1)::int AS orders,
            count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
            count(*) FILTER (WHERE aggregate_type = 'product')::int AS products
     FROM outbox_events`,
    [ORDER_AGGREGATE],
  );
  expect(rows[0]).toEqual({ orders: 0, pending: 0, products: 30 });
});

test('catch-up and a rebuild of orders_read give one row per order, matching the write model', async () => {
  const compare = async () => {
    const { rows } = await outbox.pool.query<{ order_id: string; status: string; total_minor: string }>(
      `SELECT order_id, status, total_minor::text FROM read_models.orders_read ORDER BY order_id`,
    );
    const { rows: expected } = await outbox.pool.query<{ order_id: string; status: string; total_minor: string }>(
      `SELECT id AS order_id, status, total_minor::text FROM orders ORDER BY id`,
    );
    expect(rows).toEqual(expected);
  };
  const { applied } = await catchUp({ db, projection: ordersReadProjection, batchSize: 13 });
  const { rows } = await outbox.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM domain_events WHERE aggregate_type = $1`,
    [ORDER_AGGREGATE],
  );
  expect(applied).toBe(rows[0]!.n);
  await compare();
  const rebuilt = await rebuildProjection({ db, projection: ordersReadProjection, batchSize: 17 });
  expect(rebuilt.events).toBe(rows[0]!.n);
  await compare();
});

test('the same seed plans the same orders; another seed plans others', () => {
  const world: World = {
    products: [
      { id: 'p1', sellerId: 's1', name: 'A', priceMinor: 100, currency: 'EUR', active: true, commissionRateBps: 1000 },
      { id: 'p2', sellerId: 's2', name: 'B', priceMinor: 250, currency: 'EUR', active: true, commissionRateBps: 500 },
    ],
    catalogue: new Map(),
    customers: [{ id: 'c1', address: { recipient: 'R', line1: 'L', city: 'C', postalCode: '1', country: 'DE' } }],
  };
  world.catalogue = new Map(world.products.map((p) => [p.id, p]));
  const plan = (seed: number) => {
    const next = orderPlanner(world, { seed, orders: 20, endAt: new Date('2026-11-01T00:00:00Z'), days: 2 });
    return Array.from({ length: 20 }, (_, i) => next(i));
  };
  expect(plan(7)).toEqual(plan(7));
  expect(plan(8).map((o) => o.id)).not.toEqual(plan(7).map((o) => o.id));
});
