import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../../platform/config';
import { createDatabase, type Database } from '../../platform/database';
import { appendEvents } from '../../events/event-store';
import { eventStreamName } from '../../events/outbox-relay';
import { fieldsOf } from '../../read-models/projections/lag';
import { ordersReadProjection } from '../../read-models/projections/orders-read';
import { rebuildProjection, type RebuildProgress } from '../../read-models/projections/rebuild';
import { catchUp, startProjector, type RunningProjector } from '../../read-models/projections/runner';
import { createCustomer, createSellerWithProducts } from '../support/catalogue';
import {
  appendOrderEvents,
  expectedOrderRows,
  lifecycle,
  normalized,
  normalizedEqual,
  readOrderRows,
  type HistoryLine,
  type Outcome,
} from '../support/order-history';
import {
  connectRedis,
  createOutboxDatabase,
  redisUrlOn,
  startRelayLoop,
  waitUntil,
  type InProcessRelay,
  type OutboxDatabase,
} from '../support/outbox';
import type { RedisClient } from '../../platform/redis';
import { flushTestRedis, testRedis } from '../support/redis';

/**
 * The projection runner on the orders_read read model, against the real PostgreSQL and Redis:
 * catch-up from the event store, live from the relay's streams (exactly once, gap-free after lost
 * entries, restartable), and a rebuild into fresh tables swapped in while writes go on.
 * Redis database 10 is this file's alone (it is flushed).
 */

const redisUrl = redisUrlOn(10);
let outbox: OutboxDatabase;
let db: Database;
let redis: RedisClient;
let lines: HistoryLine[][];
let customerId: string;
let customerName: string;

beforeAll(async () => {
  outbox = await createOutboxDatabase('projections');
  db = createDatabase({ database: { url: outbox.url, poolSize: 6 } });
  redis = connectRedis(redisUrl);
  await flushTestRedis(redis);
  const a = await createSellerWithProducts(db, [
    { name: 'Oak chair', priceMinor: 4_999 },
    { name: 'Lamp', priceMinor: 1_500 },
  ]);
  const b = await createSellerWithProducts(db, [{ name: 'Kettle', priceMinor: 2_500 }]);
  const customer = await createCustomer(db, { name: 'Grace Hopper' });
  customerId = customer.id;
  customerName = customer.name;
  const line = (
    p: { id: string; sellerId: string; name: string; priceMinor: bigint },
    quantity: number,
  ): HistoryLine => ({
    productId: p.id,
    sellerId: p.sellerId,
    name: p.name,
    quantity,
    unitPriceMinor: Number(p.priceMinor),
  });
  lines = [
    [line(a.products[0]!, 2), line(b.products[0]!, 1)],
    [line(a.products[1]!, 3)],
    [line(b.products[0]!, 1), line(a.products[1]!, 1)],
  ];
});

afterAll(async () => {
  await db.$disconnect();
  redis.disconnect();
  await outbox.drop();
});

const outcomes: Outcome[] = ['placed', 'paid', 'shipped', 'delivered', 'failed', 'cancelled-after-payment'];

async function placeOrders(count: number): Promise<Map<string, Outcome>> {
  const placed = new Map<string, Outcome>();
  for (let i = 0; i < count; i++) {
    const orderId = randomUUID();
    const outcome = outcomes[i % outcomes.length]!;
    await appendOrderEvents(db, orderId, lifecycle(orderId, customerId, lines[i % lines.length]!, outcome));
    placed.set(orderId, outcome);
  }
  return placed;
}

async function indexNames(): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<{ name: string }[]>(
    `SELECT tablename || '.' || indexname AS name FROM pg_indexes WHERE schemaname = 'read_models' ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

describe('orders_read projection', () => {
  it('catches up from the event store: one row per order, each status as its events say, and nothing twice', async () => {
    const placed = await placeOrders(12);
    const first = await catchUp({ db, projection: ordersReadProjection, batchSize: 7 });
    const eventCount = await db.domainEvent.count({ where: { aggregateType: 'order' } });
    expect(first.applied).toBe(eventCount);

    const rows = await readOrderRows(db);
    expect(rows.size).toBe(12);
    const statusOf: Record<Outcome, string> = {
      placed: 'PENDING',
      paid: 'PAID',
      shipped: 'SHIPPED',
      delivered: 'DELIVERED',
      failed: 'FAILED',
      'cancelled-after-payment': 'CANCELLED',
    };
    for (const [orderId, outcome] of placed) {
      const row = rows.get(orderId)!;
      expect(row.status).toBe(statusOf[outcome]);
      expect(row.customer_name).toBe(customerName);
      expect(row.customer_email).toMatch(/@example\.test$/);
      expect(row.seller_names.every((name) => name.startsWith('Seller '))).toBe(true);
      expect(row.version).toBe(await db.domainEvent.count({ where: { aggregateId: orderId } }));
    }
    const delivered = [...placed].find(([, o]) => o === 'delivered')![0];
    const row = rows.get(delivered)!;
    expect(row.status_label).toBe('Delivered');
    expect(row.shipments.every((s) => s.status === 'DELIVERED')).toBe(true);
    expect(row.item_count).toBe(3);
    expect(row.product_names).toEqual(['Oak chair', 'Kettle']);
    expect(row.total_minor).toBe(2 * 4_999 + 2_500);
    const sellerRows = await db.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM read_models.seller_orders_read`,
    );
    expect(sellerRows[0]!.n).toBe([...rows.values()].reduce((sum, r) => sum + r.seller_ids.length, 0));

    const second = await catchUp({ db, projection: ordersReadProjection });
    expect(second.applied).toBe(0);
    expect(normalized(await readOrderRows(db))).toEqual(normalized(await expectedOrderRows(db)));
  });

  it('never applies a version without the one before, even when that one committed after a batch read past it', async () => {
    // A position is taken at insert, not at commit: v4 below holds an earlier position than the
    // other order's events, but is still uncommitted when catch-up reads past them.
    const orderId = randomUUID();
    const events = lifecycle(orderId, customerId, lines[1]!, 'delivered');
    await appendOrderEvents(db, orderId, events.slice(0, 3));
    await catchUp({ db, projection: ordersReadProjection });
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    let inserted!: () => void;
    const insertedV4 = new Promise<void>((resolve) => (inserted = resolve));
    const v4 = db.$transaction(async (tx) => {
      await appendEvents(tx, {
        aggregateType: 'order',
        aggregateId: orderId,
        expectedVersion: 3,
        events: [events[3]!],
        correlation: { causationKey: `test:${orderId}:4` },
      });
      inserted();
      await held;
    });
    await insertedV4;
    await placeOrders(2);
    const passed = await catchUp({ db, projection: ordersReadProjection });
    commit();
    await v4;
    await appendOrderEvents(db, orderId, events.slice(4));
    await catchUp({ db, projection: ordersReadProjection, afterPosition: passed.lastPosition });
    const row = (await readOrderRows(db)).get(orderId)!;
    expect(row.version).toBe(events.length);
    expect(row.shipments.map((s) => s.status)).toEqual(['DELIVERED']);
  });

  describe('live from the streams', () => {
    let relay: InProcessRelay;
    let projector: RunningProjector | undefined;
    const config = loadConfig({ ...process.env, DATABASE_URL: 'postgresql://x@127.0.0.1/x' });

    beforeAll(() => {
      relay = startRelayLoop(outbox.url, redisUrl, config.relay);
    });
    afterAll(async () => {
      await projector?.stop();
      await relay.stop();
    });

    const start = async (): Promise<RunningProjector> => {
      const running = startProjector({
        db,
        projections: [ordersReadProjection],
        connectRedis: () => testRedis(redisUrl),
        consumer: `test-${randomUUID().slice(0, 6)}`,
        blockMs: 100,
        retryDelayMs: 100,
        logger: pino({ level: 'silent' }),
      });
      await running.ready;
      return running;
    };

    it('applies new events as the relay publishes them, exactly once even when entries are delivered twice or malformed', async () => {
      projector = await start();
      const placed = await placeOrders(6);
      await waitUntil('the new orders in orders_read', 20_000, async () => {
        const rows = await readOrderRows(db);
        return [...placed.keys()].every((id) => (rows.get(id)?.version === undefined ? false : true));
      });
      await waitUntil('orders_read equal to the fold', 20_000, async () =>
        normalizedEqual(await readOrderRows(db), await expectedOrderRows(db)),
      );

      // The relay publishes at least once: the same event added again must change nothing.
      const [orderId] = [...placed.keys()];
      const last = await db.domainEvent.findFirst({ where: { aggregateId: orderId }, orderBy: { version: 'desc' } });
      const before = await db.$queryRawUnsafe<{ events_applied: bigint }[]>(
        `SELECT events_applied FROM read_models.projection_status WHERE projection = 'orders_read'`,
      );
      // A malformed entry in the same read is acknowledged and skipped; it stops nothing.
      await redis.xadd(eventStreamName('order'), '*', 'garbage', '1');
      await redis.xadd(
        eventStreamName('order'),
        '*',
        'event_id',
        last!.id,
        'aggregate_type',
        'order',
        'aggregate_id',
        orderId!,
        'version',
        String(last!.version),
        'event_type',
        last!.eventType,
        'payload',
        JSON.stringify(last!.payload),
        'sequence',
        '0',
      );
      await waitUntil('the duplicate entry handled', 10_000, async () => {
        const pending = (await redis.xinfo('GROUPS', eventStreamName('order'))) as unknown[][];
        const group = pending.map(fieldsOf).find((g) => g['name'] === 'orders_read');
        return group?.['lag'] === 0 && group?.['pending'] === 0;
      });
      const after = await db.$queryRawUnsafe<{ events_applied: bigint }[]>(
        `SELECT events_applied FROM read_models.projection_status WHERE projection = 'orders_read'`,
      );
      expect(after[0]!.events_applied).toBe(before[0]!.events_applied);
    });

    it('restarts where it stopped, and fills the gap when Redis lost the stream meanwhile', async () => {
      await projector!.stop();
      projector = undefined;
      const placed = await placeOrders(4);
      // The relay published them; then Redis loses the stream (no persistence), entries and group.
      await waitUntil(
        'the relay to publish',
        20_000,
        async () => (await db.outboxEvent.count({ where: { status: 'PENDING' } })) === 0,
      );
      await redis.del(eventStreamName('order'));
      projector = await start();
      const rows = await readOrderRows(db);
      for (const orderId of placed.keys()) expect(rows.get(orderId)).toBeDefined();
      expect(normalized(rows)).toEqual(normalized(await expectedOrderRows(db)));

      // An order whose first events never reached the stream (their outbox rows are gone): its
      // last event arrives, and the projector takes the versions in between from the event store.
      const orderId = randomUUID();
      const events = lifecycle(orderId, customerId, lines[0]!, 'delivered');
      await db.$transaction(async (tx) => {
        await appendEvents(tx, {
          aggregateType: 'order',
          aggregateId: orderId,
          expectedVersion: 0,
          events: events.slice(0, 3),
          correlation: { causationKey: `test:${orderId}:lost` },
        });
        await tx.outboxEvent.deleteMany({ where: { aggregateId: orderId } });
      });
      await appendOrderEvents(db, orderId, events.slice(3));

      await waitUntil(
        'the late order delivered',
        20_000,
        async () => (await readOrderRows(db)).get(orderId)?.status === 'DELIVERED',
      );
      expect((await readOrderRows(db)).get(orderId)!.version).toBe(events.length);
    });

    it('rebuilds into fresh tables and swaps them in while orders keep coming, losing and doubling nothing', async () => {
      const indexesBefore = await indexNames();
      // Damage the live table: the rebuild must not copy it, but fold everything again.
      await db.$executeRawUnsafe(`UPDATE read_models.orders_read SET customer_name = 'tampered'`);
      const writer = placeOrders(8);
      const progress: RebuildProgress[] = [];
      const result = await rebuildProjection({
        db,
        projection: ordersReadProjection,
        batchSize: 5,
        onProgress: (p) => progress.push(p),
      });
      await writer;
      expect(result.events).toBeGreaterThan(0);
      expect(progress.at(-1)!.phase).toBe('swap');
      expect(progress.some((p) => p.phase === 'bulk' && p.applied > 0)).toBe(true);
      await waitUntil('orders_read equal to the fold after the rebuild', 20_000, async () =>
        normalizedEqual(await readOrderRows(db), await expectedOrderRows(db)),
      );
      expect([...(await readOrderRows(db)).values()].some((r) => r.customer_name === 'tampered')).toBe(false);
      expect(await indexNames()).toEqual(indexesBefore);
      const leftovers = await db.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'read_models' AND tablename LIKE '%\\_\\_%'`,
      );
      expect(leftovers[0]!.n).toBe(0);
      const status = await db.$queryRawUnsafe<{ rebuilt_at: Date | null; rebuild_events: bigint }[]>(
        `SELECT rebuilt_at, rebuild_events FROM read_models.projection_status WHERE projection = 'orders_read'`,
      );
      expect(status[0]!.rebuilt_at).not.toBeNull();
      expect(Number(status[0]!.rebuild_events)).toBe(result.events);
    });
  });
});
