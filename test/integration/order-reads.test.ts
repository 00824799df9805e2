import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { createReadCache } from '../../read-models/cache';
import type { Config } from '../../platform/config';
import { metricNames } from '../../platform/metrics';
import { positionsReached } from '../../read-models/projections/consistency';
import { ordersReadProjection } from '../../read-models/projections/orders-read';
import { MIN_POSITION_HEADER } from '../../read-models/projections/projection';
import { startProjector, type RunningProjector } from '../../read-models/projections/runner';
import { createCustomer, createSellerWithProducts } from '../support/catalogue';
import { appendOrderEvents, lifecycle, type HistoryLine } from '../support/order-history';
import {
  createOutboxDatabase,
  redisUrlOn,
  startRelayLoop,
  waitUntil,
  type InProcessRelay,
  type OutboxDatabase,
} from '../support/outbox';
import { startApi, testConfig, type TestPlatform } from '../support/platform';
import { entryEnv, repoRoot } from '../support/processes';
import { flushTestRedis, testRedis } from '../support/redis';
import type { RedisClient } from '../../platform/redis';

/**
 * Order reads over HTTP from the read model: through the cache (ETag, 304, invalidated by the
 * projector's commits), read-your-writes by positions (reached, or falling back to the events),
 * keyset-paginated lists, projection lag in readiness, Redis down, and `shopflow projections`.
 * A database and Redis database 9 of its own: the relay and projector here publish and project
 * everything they find.
 */

const redisUrl = redisUrlOn(9);
let outbox: OutboxDatabase;
let config: Config;
let platform: TestPlatform;
let relay: InProcessRelay;
let projector: RunningProjector | undefined;
let projectorRedis: RedisClient;
let customerId: string;
let otherCustomerId: string;
let sellerId: string;
let lines: HistoryLine[];

async function startProjecting(): Promise<void> {
  const cache = createReadCache({
    redis: projectorRedis,
    ttlMs: config.cache.ttlMs,
    logger: pino({ level: 'silent' }),
  });
  projector = startProjector({
    db: platform.deps.db,
    projections: [ordersReadProjection],
    connectRedis: () => testRedis(redisUrl),
    cache,
    consumer: 'reads-test',
    blockMs: 100,
    retryDelayMs: 100,
  });
  await projector.ready;
}

async function stopProjecting(): Promise<void> {
  await projector?.stop();
  projector = undefined;
}

beforeAll(async () => {
  outbox = await createOutboxDatabase('reads');
  config = testConfig({
    DATABASE_URL: outbox.url,
    REDIS_URL: redisUrl,
    READ_YOUR_WRITES_WAIT_MS: '3000',
    PROJECTION_LAG_DEGRADED_EVENTS: '5',
  });
  const flush = testRedis(redisUrl);
  await flushTestRedis(flush);
  flush.disconnect();
  platform = await startApi(config);
  const { db } = platform.deps;
  const { seller, products } = await createSellerWithProducts(db, [{ name: 'Desk', priceMinor: 12_000 }]);
  sellerId = seller.id;
  customerId = (await createCustomer(db, { name: 'Katherine Johnson' })).id;
  otherCustomerId = (await createCustomer(db)).id;
  lines = [{ productId: products[0]!.id, sellerId, name: 'Desk', quantity: 1, unitPriceMinor: 12_000 }];

  relay = startRelayLoop(outbox.url, redisUrl, config.relay);
  projectorRedis = testRedis(redisUrl);
  await startProjecting();
});

afterAll(async () => {
  await stopProjecting();
  await relay.stop();
  projectorRedis.disconnect();
  await platform.close();
  await outbox.drop();
});

/** Appends an order's events (the first `count`) and returns its id and version. */
async function order(outcome: Parameters<typeof lifecycle>[3], customer = customerId, count?: number) {
  const orderId = randomUUID();
  const events = lifecycle(orderId, customer, lines, outcome);
  await appendOrderEvents(platform.deps.db, orderId, events.slice(0, count ?? events.length));
  return { orderId, events, version: count ?? events.length };
}

const projected = (orderId: string, version: number) =>
  waitUntil(`order ${orderId} projected at v${version}`, 20_000, () =>
    positionsReached(platform.deps.db, 'orders_read', [{ aggregateType: 'order', aggregateId: orderId, version }]),
  );

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('GET /v1/orders/{id} from the read model', () => {
  it('answers from orders_read with the denormalized fields, an ETag, and 304 when it has not changed', async () => {
    const { orderId } = await order('paid');
    await projected(orderId, 3);
    const first = await request(platform.app).get(`/v1/orders/${orderId}`).expect(200);
    expect(first.headers['shopflow-consistency']).toBeUndefined();
    expect(first.body).toMatchObject({
      orderId,
      status: 'PAID',
      statusLabel: 'Paid, awaiting shipment',
      customer: { name: 'Katherine Johnson' },
      sellers: [{ sellerId }],
      total: '120.00 EUR',
      version: 3,
    });
    const etag = first.headers['etag'] as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const notModified = await request(platform.app).get(`/v1/orders/${orderId}`).set('If-None-Match', etag).expect(304);
    expect(notModified.text).toBe('');
    const metrics = await platform.scrapeMetrics();
    expect(metricValue(metrics, metricNames.cacheRequests, 'kind="order",result="hit"')).toBeGreaterThanOrEqual(1);
  });

  it('never serves the cached entry once the projection committed a change, and waits for a position it is given', async () => {
    const { orderId, events } = await order('shipped', customerId, 3);
    await projected(orderId, 3);
    // Fill the cache with the PAID order.
    expect((await request(platform.app).get(`/v1/orders/${orderId}`).expect(200)).body.status).toBe('PAID');
    await appendOrderEvents(platform.deps.db, orderId, events.slice(3));

    // A client that wrote version 4 and says so sees it on its very next read.
    const mine = await request(platform.app)
      .get(`/v1/orders/${orderId}`)
      .set(MIN_POSITION_HEADER, `order:${orderId}:4`)
      .expect(200);
    expect(mine.headers['shopflow-consistency']).toBe('reached');
    expect(mine.body.status).toBe('SHIPPED');
    // Once the projection has committed, nobody gets the old entry any more.
    await projected(orderId, 4);
    expect((await request(platform.app).get(`/v1/orders/${orderId}`).expect(200)).body.status).toBe('SHIPPED');
  });

  it('falls back to the order events when the projection does not reach the position in time', async () => {
    await stopProjecting();
    try {
      const { orderId, version } = await order('delivered');
      const started = Date.now();
      const response = await request(platform.app)
        .get(`/v1/orders/${orderId}`)
        .set(MIN_POSITION_HEADER, `order:${orderId}:${version}`)
        .expect(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(config.projections.readYourWritesWaitMs - 50);
      expect(response.headers['shopflow-consistency']).toBe('fallback');
      expect(response.body).toMatchObject({
        orderId,
        status: 'DELIVERED',
        version,
        customer: { name: 'Katherine Johnson' },
      });
      // Without a position, an order the read model has not seen is also answered from its events.
      const plain = await request(platform.app).get(`/v1/orders/${orderId}`).expect(200);
      expect(plain.headers['shopflow-consistency']).toBe('fallback');
    } finally {
      await startProjecting();
    }
  });

  it('waits as long as Prefer: wait asks, within the maximum, and says so in Preference-Applied', async () => {
    await stopProjecting();
    let restarted: Promise<void> | undefined;
    try {
      const { orderId, version } = await order('delivered');
      // The projector comes back after the default wait (3 s here) has run out: only a longer wait sees it.
      restarted = new Promise((resolve) => setTimeout(resolve, config.projections.readYourWritesWaitMs + 500)).then(
        startProjecting,
      );
      const patient = await request(platform.app)
        .get(`/v1/orders/${orderId}`)
        .set(MIN_POSITION_HEADER, `order:${orderId}:${version}`)
        .set('Prefer', 'wait=20')
        .expect(200);
      expect(patient.headers['shopflow-consistency']).toBe('reached');
      expect(patient.headers['preference-applied']).toBe('wait=20');
      expect(patient.body).toMatchObject({ orderId, status: 'DELIVERED', version });
    } finally {
      await restarted;
    }
  });

  it('caps Prefer: wait at READ_YOUR_WRITES_MAX_WAIT_MS, takes wait=0 as no wait, and ignores a wait it cannot parse', async () => {
    await stopProjecting();
    try {
      const { orderId, version } = await order('paid');
      const read = (prefer: string) =>
        request(platform.app)
          .get(`/v1/orders/${orderId}`)
          .set(MIN_POSITION_HEADER, `order:${orderId}:${version}`)
          .set('Prefer', prefer)
          .expect(200);
      const now = await read('wait=0');
      expect(now.headers['shopflow-consistency']).toBe('fallback');
      expect(now.headers['preference-applied']).toBe('wait=0');
      // Not well-formed: as if no Prefer was sent (the default wait, then the fallback), and not applied.
      const ignored = await read('wait=soon');
      expect(ignored.headers['shopflow-consistency']).toBe('fallback');
      expect(ignored.headers['preference-applied']).toBeUndefined();
      // Without positions there is nothing to wait for: no preference is applied.
      const plain = await request(platform.app).get(`/v1/orders/${orderId}`).set('Prefer', 'wait=5').expect(200);
      expect(plain.headers['preference-applied']).toBeUndefined();
    } finally {
      await startProjecting();
    }
    const capped = await startApi({
      ...config,
      projections: { ...config.projections, readYourWritesMaxWaitMs: 1_000 },
    });
    try {
      const { orderId, version } = await order('paid');
      await projected(orderId, version);
      const response = await request(capped.app)
        .get(`/v1/orders/${orderId}`)
        .set(MIN_POSITION_HEADER, `order:${orderId}:${version}`)
        .set('Prefer', 'wait=3600')
        .expect(200);
      expect(response.headers['preference-applied']).toBe('wait=1');
      expect(response.headers['shopflow-consistency']).toBe('reached');
    } finally {
      await capped.close();
    }
  });

  it('refuses a malformed position, and a position the route cannot wait for, naming the header', async () => {
    const orderId = randomUUID();
    for (const [value, message] of [
      ['order:not-a-uuid:1', /is not a position/],
      [`order:${orderId}:0`, /is not a position/],
      [`product:${orderId}:1`, /does not follow product events/],
    ] as const) {
      const response = await request(platform.app)
        .get(`/v1/orders/${orderId}`)
        .set(MIN_POSITION_HEADER, value)
        .expect(400);
      expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(response.body.errors).toEqual([
        { field: `header.${MIN_POSITION_HEADER}`, message: expect.stringMatching(message) },
      ]);
    }
    await request(platform.app).get(`/v1/orders/${orderId}`).expect(404);
  });
});

describe('order lists', () => {
  it("pages a customer's orders newest first, without gaps or repeats, and filters by status", async () => {
    const customer = (await createCustomer(platform.deps.db)).id;
    const placed: string[] = [];
    for (const outcome of ['paid', 'failed', 'paid', 'delivered', 'paid'] as const) {
      const { orderId, version } = await order(outcome, customer);
      await projected(orderId, version);
      placed.push(orderId);
    }
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const response = await request(platform.app)
        .get(`/v1/customers/${customer}/orders`)
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .expect(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...orderIds(response.body));
      cursor = response.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...placed].reverse());
    const paid = await request(platform.app)
      .get(`/v1/customers/${customer}/orders`)
      .query({ status: 'PAID' })
      .expect(200);
    expect(orderIds(paid.body)).toEqual([placed[4], placed[2], placed[0]]);
    expect(paid.body.items[0]).toMatchObject({
      statusLabel: 'Paid, awaiting shipment',
      productNames: ['Desk'],
      total: '120.00 EUR',
    });
    const other = await request(platform.app).get(`/v1/customers/${otherCustomerId}/orders`).expect(200);
    expect(orderIds(other.body).every((id) => !placed.includes(id))).toBe(true);
  });

  it("lists a seller's orders, and a new order appears on the next read once projected", async () => {
    const before = await request(platform.app).get(`/v1/sellers/${sellerId}/orders`).query({ limit: 100 }).expect(200);
    const { orderId, version } = await order('placed');
    await projected(orderId, version);
    const after = await request(platform.app).get(`/v1/sellers/${sellerId}/orders`).query({ limit: 100 }).expect(200);
    expect(after.body.items[0].orderId).toBe(orderId);
    expect(after.body.items.length).toBe(Math.min(before.body.items.length + 1, 100));
  });

  it('answers bad list parameters with 400 naming each field', async () => {
    const cases: [string, Record<string, string>, string][] = [
      [`/v1/customers/nope/orders`, {}, 'path.customerId'],
      [`/v1/customers/${customerId}/orders`, { limit: '0' }, 'query.limit'],
      [`/v1/customers/${customerId}/orders`, { limit: '101' }, 'query.limit'],
      [`/v1/customers/${customerId}/orders`, { status: 'LOST' }, 'query.status'],
      [`/v1/customers/${customerId}/orders`, { cursor: 'bm90IGEgY3Vyc29y' }, 'query.cursor'],
      [`/v1/customers/${customerId}/orders`, { sort: 'oldest' }, 'query'],
      [
        `/v1/sellers/${sellerId}/orders`,
        { cursor: Buffer.from('{"placedAt":"x","orderId":"y"}').toString('base64url') },
        'query.cursor',
      ],
    ];
    for (const [url, query, field] of cases) {
      const response = await request(platform.app).get(url).query(query).expect(400);
      expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
      expect((response.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain(field);
    }
  });
});

describe('projection lag', () => {
  it('is DEGRADED in readiness and exported as metrics while the projector is behind, and UP once it caught up', async () => {
    await stopProjecting();
    try {
      for (let i = 0; i < 3; i++) await order('paid');
      await waitUntil(
        'the relay to publish',
        20_000,
        async () => (await platform.deps.db.outboxEvent.count({ where: { status: 'PENDING' } })) === 0,
      );
      const ready = await request(platform.app).get('/health/ready').expect(200);
      expect(ready.body.status).toBe('DEGRADED');
      expect(ready.body.checks.projections).toMatchObject({
        status: 'DEGRADED',
        detail: expect.stringMatching(/orders_read 9 events/),
      });
      const metrics = await platform.scrapeMetrics();
      expect(metricValue(metrics, metricNames.projectionLagEvents, 'projection="orders_read"')).toBe(9);
      expect(metricValue(metrics, metricNames.projectionLagSeconds, 'projection="orders_read"')).toBeGreaterThan(0);
    } finally {
      await startProjecting();
    }
    await waitUntil('readiness UP', 20_000, async () => {
      const ready = await request(platform.app).get('/health/ready');
      return (ready.body.checks.projections.detail as string).startsWith('orders_read 0 events');
    });
  });
});

describe('without Redis', () => {
  it('still answers reads from PostgreSQL', async () => {
    const { orderId, version } = await order('paid');
    await projected(orderId, version);
    const down = await startApi(testConfig({ DATABASE_URL: outbox.url, REDIS_URL: 'redis://127.0.0.1:1' }));
    try {
      const response = await request(down.app).get(`/v1/orders/${orderId}`).expect(200);
      expect(response.body.status).toBe('PAID');
      expect(response.headers['etag']).toBeDefined();
      const list = await request(down.app).get(`/v1/customers/${customerId}/orders`).expect(200);
      expect(orderIds(list.body)).toContain(orderId);
    } finally {
      await down.close();
    }
  });
});

describe('shopflow projections', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(repoRoot, 'cli', 'bin.js'), 'projections', ...args], {
      env: entryEnv({ DATABASE_URL: outbox.url, REDIS_URL: redisUrl }),
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('rebuilds orders_read from the event store and reports it in status', async () => {
    const total = await platform.deps.db.domainEvent.count({ where: { aggregateType: 'order' } });
    const rebuilt = cli('rebuild', 'orders_read', '--json', '--batch-size', '7');
    expect(rebuilt.stderr).toBe('');
    expect(rebuilt.status).toBe(0);
    const [result] = JSON.parse(rebuilt.stdout) as { projection: string; events: number }[];
    expect(result).toMatchObject({ projection: 'orders_read', events: total });
    const status = cli('status', '--json');
    expect(status.status).toBe(0);
    const rows = JSON.parse(status.stdout) as { projection: string; rebuiltAt: string | null }[];
    expect(rows.find((r) => r.projection === 'orders_read')!.rebuiltAt).not.toBeNull();
  });

  it('refuses an unknown projection and a bad batch size with one line and exit 2', () => {
    const unknown = cli('rebuild', 'orders');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/unknown projection "orders"; expected one of orders_read/);
    const badBatch = cli('rebuild', 'orders_read', '--batch-size', '0');
    expect(badBatch.status).toBe(2);
    expect(badBatch.stderr.trim().split('\n')).toHaveLength(1);
  });
});

function orderIds(body: unknown): string[] {
  return (body as { items: { orderId: string }[] }).items.map((i) => i.orderId);
}
