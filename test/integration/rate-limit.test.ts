import { randomBytes } from 'node:crypto';
import express from 'express';
import { Redis } from 'ioredis';
import { createServer, type Server } from 'node:net';
import pino from 'pino';
import request from 'supertest';
import { rateLimitMiddleware } from '../../api/access/rate-limit';
import { createApiKey } from '../../access/api-keys';
import { metricNames as m, createApiMetrics } from '../../platform/metrics';
import { createTokenBuckets, type Bucket } from '../../access/rate-limit';
import { createRedis, type RedisClient } from '../../platform/redis';
import { startApi, testConfig, type TestPlatform } from '../support/platform';
import { flushTestRedis } from '../support/redis';
import { freePort, startEntry, type LongRunning } from '../support/processes';
import { Scrape } from '../support/prometheus';

/** Redis database 5 is this file's alone: every test starts from empty buckets. */
const REDIS_URL = 'redis://127.0.0.1:6379/5';
const BAD_ORDER_ID = '/v1/orders/not-a-uuid';
/** Slow enough that no token comes back while a test runs. */
const NO_REFILL = '0.001';

/** Generous limits everywhere, tightened per test. */
function limitedConfig(overrides: Record<string, string> = {}) {
  return testConfig({
    REDIS_URL,
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_FAIL_MODE: 'open',
    RATE_LIMIT_READ_BURST: '1000',
    RATE_LIMIT_READ_IP_BURST: '1000',
    RATE_LIMIT_WRITE_BURST: '1000',
    RATE_LIMIT_WRITE_IP_BURST: '1000',
    RATE_LIMIT_ORDER_WRITE_BURST: '1000',
    RATE_LIMIT_ORDER_WRITE_IP_BURST: '1000',
    ...overrides,
  });
}

const isLimited = (res: { status: number }) => res.status === 429;

async function scrape(platform: TestPlatform): Promise<Scrape> {
  return new Scrape(await platform.scrapeMetrics());
}

let redis: RedisClient;
const platforms: TestPlatform[] = [];

async function api(overrides: Record<string, string> = {}): Promise<TestPlatform> {
  const platform = await startApi(limitedConfig(overrides));
  platforms.push(platform);
  return platform;
}

beforeAll(async () => {
  redis = createRedis(testConfig({ REDIS_URL }), 'rate-limit-test');
  await redis.connect();
});

beforeEach(async () => {
  await flushTestRedis(redis);
});

afterEach(async () => {
  await Promise.all(platforms.splice(0).map((p) => p.close()));
});

afterAll(() => redis.disconnect());

describe('a burst above the capacity', () => {
  it('passes exactly `burst` requests, counting down, then refuses with 429 problem+json', async () => {
    const limited = await api({ RATE_LIMIT_READ_BURST: '5', RATE_LIMIT_READ_PER_S: NO_REFILL });
    const { app } = limited;

    const responses = [];
    for (let i = 0; i < 8; i++) responses.push(await request(app).get(BAD_ORDER_ID));

    // Limiting comes before routing: the 400 for a bad id still took a token.
    expect(responses.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 429, 429, 429]);
    expect(responses.slice(0, 5).map((r) => r.headers['ratelimit-remaining'])).toEqual(['4', '3', '2', '1', '0']);
    expect(responses.every((r) => r.headers['ratelimit-limit'] === '5')).toBe(true);
    const refused = responses[5]!;
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(Number(refused.headers['retry-after']));
    expect(refused.body).toMatchObject({
      type: 'https://shopflow.dev/problems/rate-limited',
      status: 429,
      rateLimit: { class: 'read', scope: 'key', burst: 5 },
    });

    const s = await scrape(limited);
    expect(s.value(m.rateLimitDecisions, { class: 'read', result: 'allowed' })).toBe(5);
    expect(s.value(m.rateLimitDecisions, { class: 'read', result: 'limited' })).toBe(3);
  });

  it('leaves health, the API document and other paths outside /v1 alone', async () => {
    // No refill: at the default rates a token comes back within 10-50 ms, which a busy machine can
    // take between two requests, and the second would not be limited.
    const { app } = await api({
      RATE_LIMIT_READ_BURST: '1',
      RATE_LIMIT_READ_IP_BURST: '1',
      RATE_LIMIT_READ_PER_S: NO_REFILL,
      RATE_LIMIT_READ_IP_PER_S: NO_REFILL,
    });
    await request(app).get(BAD_ORDER_ID).expect(400);
    await request(app).get(BAD_ORDER_ID).expect(429);
    for (let i = 0; i < 3; i++) {
      const live = await request(app).get('/health/live').expect(200);
      expect(live.headers['ratelimit-limit']).toBeUndefined();
      // Metrics are not on this port at all (API_METRICS_PORT); the API's other public paths are not limited.
      await request(app).get('/openapi.json').expect(200);
    }
  });
});

describe('refill', () => {
  it('gives back tokens at the configured rate', async () => {
    const { app } = await api({ RATE_LIMIT_READ_BURST: '2', RATE_LIMIT_READ_PER_S: '2' });
    const burst = [];
    for (let i = 0; i < 4; i++) burst.push(await request(app).get(BAD_ORDER_ID));
    expect(burst.filter(isLimited)).toHaveLength(2);

    // 1.1 s at 2 per second: two tokens back (the bucket holds no more than its burst).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const later = [];
    for (let i = 0; i < 5; i++) later.push(await request(app).get(BAD_ORDER_ID));
    expect(later.filter((r) => !isLimited(r))).toHaveLength(2);
  });

  it('allows fractional rates: 0.5 per second means one token back every two seconds', async () => {
    const tokens = createTokenBuckets(redis, { timeoutMs: 1_000 });
    const bucket: Bucket = { key: 'fractional', burst: 1, perSecond: 0.5 };
    expect((await tokens.take([bucket])).allowed).toBe(true);
    const refused = await tokens.take([bucket]);
    expect(refused.allowed).toBe(false);
    expect(refused.buckets[0]!.retryAfterMs).toBeGreaterThan(1_900);
    expect(refused.buckets[0]!.retryAfterMs).toBeLessThanOrEqual(2_000);
  });
});

describe('route classes', () => {
  it('gives order writes their own, tighter bucket: exhausting it leaves reads and other writes passing', async () => {
    const { app } = await api({
      RATE_LIMIT_ORDER_WRITE_BURST: '2',
      RATE_LIMIT_ORDER_WRITE_PER_S: NO_REFILL,
      RATE_LIMIT_WRITE_BURST: '20',
      RATE_LIMIT_READ_BURST: '20',
    });
    const orders = [];
    for (let i = 0; i < 4; i++) orders.push(await request(app).post('/v1/orders').send({}));
    expect(orders.map(isLimited)).toEqual([false, false, true, true]);
    expect(orders[2]!.body.rateLimit).toMatchObject({ class: 'orderWrite', scope: 'key' });

    const cancel = await request(app).post('/v1/orders/3f1c4b1e-5a8e-4a57-9d0e-6a3f0f0f0f0f/cancel').send({});
    expect(cancel.status).toBe(429);

    for (let i = 0; i < 3; i++) {
      expect((await request(app).get(BAD_ORDER_ID)).status).toBe(400);
      expect(isLimited(await request(app).post('/v1/products').send({}))).toBe(false);
    }
  });
});

describe('caller and IP buckets', () => {
  it('gives each caller its own bucket while callers from one IP share the IP bucket', async () => {
    const platform = await api({
      RATE_LIMIT_READ_BURST: '3',
      RATE_LIMIT_READ_PER_S: NO_REFILL,
      RATE_LIMIT_READ_IP_BURST: '4',
      RATE_LIMIT_READ_IP_PER_S: NO_REFILL,
    });
    const [alice, bob] = await Promise.all(
      ['alice', 'bob'].map(async (name) => (await createApiKey(platform.deps.db, { role: 'operator', name })).key),
    );
    const as = (key: string) => request(platform.bareApp).get(BAD_ORDER_ID).set('Authorization', `Bearer ${key}`);

    for (let i = 0; i < 3; i++) expect((await as(alice!)).status).toBe(400);
    const aliceRefused = await as(alice!);
    expect(aliceRefused.body.rateLimit).toMatchObject({ scope: 'key' });

    // Alice's refused request took nothing from the IP bucket: one token is left there for Bob.
    const bobFirst = await as(bob!);
    expect(bobFirst.status).toBe(400);
    expect(bobFirst.headers['ratelimit-remaining']).toBe('0');
    expect(bobFirst.headers['ratelimit-limit']).toBe('4');
    const bobRefused = await as(bob!);
    expect(bobRefused.status).toBe(429);
    expect(bobRefused.body.rateLimit).toMatchObject({ scope: 'ip' });

    // A request without a key is limited by its IP before it is refused for the missing key.
    const anonymous = await request(platform.bareApp).get(BAD_ORDER_ID);
    expect(anonymous.status).toBe(429);
  });

  it('refuses a flood of well-formed made-up keys by IP before looking them up: one lookup per IP token', async () => {
    const platform = await api({ RATE_LIMIT_READ_IP_BURST: '5', RATE_LIMIT_READ_IP_PER_S: NO_REFILL });
    // Each a different key (the key cache cannot answer for it), in the format of a real one.
    const madeUp = () => `sfk_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
    const statuses = [];
    for (let i = 0; i < 20; i++) {
      statuses.push(
        (await request(platform.bareApp).get(BAD_ORDER_ID).set('Authorization', `Bearer ${madeUp()}`)).status,
      );
    }
    // While the IP has tokens a key is looked up (and refused: 401); then the IP's bucket refuses
    // before any lookup (429), so the flood costs the database nothing more.
    expect(statuses).toEqual([...Array<number>(5).fill(401), ...Array<number>(15).fill(429)]);
    expect((await scrape(platform)).value(m.apiKeyLookups, {})).toBe(5);
  });

  it('limits requests without a valid key by IP, before answering 401', async () => {
    const { bareApp } = await api({ RATE_LIMIT_READ_IP_BURST: '2', RATE_LIMIT_READ_IP_PER_S: NO_REFILL });
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await request(bareApp).get(BAD_ORDER_ID).set('Authorization', 'Bearer nonsense')).status);
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
  });

  it('cannot be escaped by writing X-Forwarded-For: only trusted proxy hops are believed', async () => {
    const spoofed = (app: TestPlatform['bareApp'], i: number) =>
      request(app).get(BAD_ORDER_ID).set('Authorization', 'Bearer nonsense').set('X-Forwarded-For', `203.0.113.${i}`);
    const limits = { RATE_LIMIT_READ_IP_BURST: '2', RATE_LIMIT_READ_IP_PER_S: NO_REFILL };

    // No proxy trusted: the header is ignored, every request is the test's own address.
    const direct = await api({ ...limits, TRUST_PROXY: 'false' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await spoofed(direct.bareApp, i)).status);
    expect(statuses).toEqual([401, 401, 429, 429]);

    // One trusted hop (the test plays the proxy): each forwarded address is its own client.
    await flushTestRedis(redis);
    const proxied = await api({ ...limits, TRUST_PROXY: 'loopback' });
    const forwarded = [];
    for (let i = 0; i < 4; i++) forwarded.push((await spoofed(proxied.bareApp, i)).status);
    expect(forwarded).toEqual([401, 401, 401, 401]);
  });
});

describe('two API processes', () => {
  const running: LongRunning[] = [];
  afterAll(async () => {
    for (const process of running) process.child.kill('SIGTERM');
    await Promise.all(running.map((p) => p.exited));
  });

  it('share one bucket: alternated requests pass `burst` times in all', async () => {
    const ports = await Promise.all([freePort(), freePort()]);
    for (const port of ports) {
      running.push(
        startEntry('api/server.ts', {
          HOST: '127.0.0.1',
          PORT: String(port),
          API_METRICS_PORT: String(await freePort()),
          REDIS_URL,
          DATABASE_URL: process.env['DATABASE_URL']!,
          RATE_LIMIT_ENABLED: 'true',
          RATE_LIMIT_READ_IP_BURST: '6',
          RATE_LIMIT_READ_IP_PER_S: NO_REFILL,
        }),
      );
    }
    await Promise.all(running.map((p) => p.waitForOutput('api listening')));

    const statuses = [];
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`http://127.0.0.1:${ports[i % 2]}${BAD_ORDER_ID}`);
      statuses.push(res.status);
    }
    // Without a key each request is a 401, but only after it took a token from the shared IP bucket.
    expect(statuses.filter((s) => s !== 429)).toHaveLength(6);
    expect(statuses.slice(6)).toEqual([429, 429, 429, 429, 429, 429]);
  });
});

describe('Redis unreachable', () => {
  let closedPortUrl: string;
  beforeAll(async () => {
    closedPortUrl = `redis://127.0.0.1:${await freePort()}/5`;
  });

  it('fails open: requests proceed, each failure counted, one warning per interval', async () => {
    const config = limitedConfig({ REDIS_URL: closedPortUrl, REDIS_CLUSTER_NODES: '', RATE_LIMIT_FAIL_MODE: 'open' });
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const deadRedis = createRedis(config, 'rate-limit-dead');
    await deadRedis.connect().catch(() => undefined);
    const metrics = createApiMetrics();
    const app = express()
      .use(rateLimitMiddleware({ config, redis: deadRedis, logger, metrics }).rateLimit)
      .get('/v1/things', (_req, res) => {
        res.json({ ok: true });
      });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await request(app).get('/v1/things').expect(200);
        expect(res.headers['ratelimit-limit']).toBeUndefined();
      }
    } finally {
      deadRedis.disconnect();
    }
    const s = new Scrape(await metrics.registry.metrics());
    expect(s.value(m.rateLimitErrors, { mode: 'open' })).toBe(5);
    expect(lines.filter((l) => l.level === 40 && l.msg.includes('failing open'))).toHaveLength(1);
  });

  it('fails closed: 503 problem+json with Retry-After, counted, and the route never runs', async () => {
    const limited = await api({ REDIS_URL: closedPortUrl, REDIS_CLUSTER_NODES: '', RATE_LIMIT_FAIL_MODE: 'closed' });
    const { app } = limited;
    const res = await request(app).get(BAD_ORDER_ID).expect(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.body.type).toBe('https://shopflow.dev/problems/rate-limiter-unavailable');
    await request(app).get('/health/live').expect(200);
    const s = await scrape(limited);
    expect(s.value(m.rateLimitErrors, { mode: 'closed' })).toBe(1);
  });

  it('does not wait on a Redis that accepts connections but never answers', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    // A client that believes it is connected, as when Redis hangs mid-flight.
    const client = new Redis(`redis://127.0.0.1:${port}`, { enableReadyCheck: false, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      const tokens = createTokenBuckets(client, { timeoutMs: 100 });
      await expect(tokens.take([{ key: 'hung', burst: 1, perSecond: 1 }])).rejects.toThrow(/no answer within 100 ms/);
    } finally {
      client.disconnect();
      silent.close();
    }
  });
});
