import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import express from 'express';
import { Pool } from 'pg';
import pino from 'pino';
import request from 'supertest';
import { sendEntry } from '../../api/http/http-cache';
import {
  cacheKeys,
  createReadCache,
  etagOf,
  type CacheEntry,
  type ReadCache,
  type TagInvalidation,
} from '../../read-models/cache';
import type { CacheKind } from '../../platform/config';
import { createApiMetrics, metricNames, type ApiMetrics } from '../../platform/metrics';
import { createRedis, openRedis, type RedisClient } from '../../platform/redis';
import { createOutboxDatabase, redisUrlOn, type OutboxDatabase } from '../support/outbox';
import { testRedisClusterNodes } from '../support/redis';
import { freePort } from '../support/processes';
import { Scrape } from '../support/prometheus';

/**
 * The read cache against the real Redis (database 7, its own) and PostgreSQL: single flight, TTLs and tags,
 * and the property that matters, no stale entry after the projection that changed it committed.
 */

const silent = pino({ level: 'silent' });
const ttlMs: Record<CacheKind, number> = { order: 60_000, orderList: 30_000, search: 20_000, dashboard: 10_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const clients: RedisClient[] = [];
/** A client as the API makes it; connecting is not awaited when `connected` is false (a Redis that never answers). */
async function redisAt(url: string, connected = true, clusterNodes: string[] = []): Promise<RedisClient> {
  const redis = createRedis({ redis: { url, clusterNodes } }, 'shopflow-test-cache');
  redis.on('error', () => undefined);
  clients.push(redis);
  const connecting = openRedis(redis).catch(() => undefined);
  if (connected) await connecting;
  return redis;
}

let redis: RedisClient;
beforeAll(async () => {
  redis = await redisAt(redisUrlOn(7), true, testRedisClusterNodes());
});
afterAll(() => clients.forEach((c) => c.disconnect()));

function cacheWith(metrics?: ApiMetrics, on: RedisClient = redis, redisTimeoutMs?: number): ReadCache {
  return createReadCache({
    redis: on,
    ttlMs,
    logger: silent,
    ...(metrics ? { metrics } : {}),
    ...(redisTimeoutMs ? { redisTimeoutMs } : {}),
  });
}

async function counts(metrics: ApiMetrics, kind: CacheKind) {
  const scrape = new Scrape(await metrics.registry.metrics());
  const requests = (result: string) => scrape.value(metricNames.cacheRequests, { kind, result });
  return {
    hit: requests('hit'),
    miss: requests('miss'),
    error: requests('error'),
    loads: scrape.value(metricNames.cacheLoads, { kind }),
  };
}

/** A promise with its resolve, to hold a load open until the test lets it go. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const versionOf = (entry: CacheEntry | undefined) => (JSON.parse(entry!.body) as { version: number }).version;

describe('read cache: single flight', () => {
  it('loads 100 concurrent misses of one key once, and serves the next read from Redis', async () => {
    const metrics = createApiMetrics();
    const cache = cacheWith(metrics);
    const key = randomUUID();
    let loads = 0;
    const load = async () => {
      loads += 1;
      await sleep(100);
      return { id: key, total: 42 };
    };

    const entries = await Promise.all(
      Array.from({ length: 100 }, () => cache.get('order', key, [`order:${key}`], load)),
    );

    expect(loads).toBe(1);
    const body = JSON.stringify({ id: key, total: 42 });
    expect(new Set(entries.map((e) => JSON.stringify(e)))).toEqual(
      new Set([JSON.stringify({ body, etag: etagOf(body) })]),
    );
    expect(await counts(metrics, 'order')).toEqual({ hit: 0, miss: 100, error: 0, loads: 1 });

    expect(await cache.get('order', key, [`order:${key}`], load)).toEqual(entries[0]);
    expect(loads).toBe(1);
    expect(await counts(metrics, 'order')).toEqual({ hit: 1, miss: 100, error: 0, loads: 1 });
  });

  it('caches nothing when load finds nothing', async () => {
    const metrics = createApiMetrics();
    const cache = cacheWith(metrics);
    const key = randomUUID();
    const load = () => Promise.resolve(undefined);
    expect(await cache.get('order', key, [], load)).toBeUndefined();
    expect(await cache.get('order', key, [], load)).toBeUndefined();
    expect(await redis.exists(cacheKeys.entry('order', key))).toBe(0);
    expect(await counts(metrics, 'order')).toEqual({ hit: 0, miss: 2, error: 0, loads: 2 });
  });
});

describe('read cache: TTLs and tags', () => {
  it('keeps each kind for its TTL, and invalidating a tag reloads exactly the entries tagged with it', async () => {
    const cache = cacheWith();
    const run = randomUUID();
    const [order, seller, other] = [`order:${run}`, `seller:${run}`, `seller:other-${run}`];
    const tagsOf: Record<CacheKind, string[]> = {
      order: [order, seller],
      orderList: [seller],
      search: [other],
      dashboard: [seller, other],
    };
    const kinds = Object.keys(tagsOf) as CacheKind[];
    const loads: CacheKind[] = [];
    const readAll = async () => {
      for (const kind of kinds)
        await cache.get(kind, run, tagsOf[kind], () => {
          loads.push(kind);
          return Promise.resolve({ kind });
        });
    };
    await readAll();

    for (const kind of kinds) {
      const pttl = await redis.pttl(cacheKeys.entry(kind, run));
      expect({ kind, within: pttl > ttlMs[kind] - 5_000 && pttl <= ttlMs[kind] }).toEqual({ kind, within: true });
    }
    loads.length = 0;
    await readAll();
    expect(loads).toEqual([]);

    await cache.invalidate([seller]);
    await readAll();
    expect(loads.sort()).toEqual(['dashboard', 'order', 'orderList']);
    // Stored again with the new versions: served from Redis until the next invalidation.
    loads.length = 0;
    await readAll();
    expect(loads).toEqual([]);
  });

  it('an invalidation of many tags is in flight by kind: no entry of that kind is stored until it ends', async () => {
    const cache = cacheWith();
    const run = randomUUID();
    const sellers = Array.from({ length: 200 }, (_, i) => `seller:${run}-${i}`);
    const invalidation = await cache.beginInvalidation(sellers);
    let loads = 0;
    const load = () => {
      loads += 1;
      return Promise.resolve({ run });
    };
    // A seller not in the list: its kind is in flight, so it is loaded but not stored.
    await cache.get('dashboard', run, [`seller:${run}-unrelated`], load);
    await cache.get('dashboard', run, [`seller:${run}-unrelated`], load);
    expect(loads).toBe(2);
    // Another kind of tag is unaffected.
    await cache.get('order', run, [`order:${run}`], load);
    await cache.get('order', run, [`order:${run}`], load);
    expect(loads).toBe(3);
    await invalidation.end();
    await cache.get('dashboard', run, [`seller:${run}-unrelated`], load);
    await cache.get('dashboard', run, [`seller:${run}-unrelated`], load);
    expect(loads).toBe(4);
    expect(await redis.hlen(cacheKeys.inFlight)).toBe(0);
  });

  it('forgets versions older than the version TTL, and only those', async () => {
    const cache = createReadCache({
      redis,
      ttlMs: { order: 20, orderList: 20, search: 20, dashboard: 20 },
      logger: silent,
      versionTtlMs: 40,
    });
    const run = randomUUID();
    await cache.invalidate([`order:${run}-old`]);
    await sleep(60);
    await cache.invalidate([`order:${run}-new`]);
    expect(await cache.pruneVersions()).toBeGreaterThanOrEqual(1);
    expect(await redis.hget(cacheKeys.tagVersions, `order:${run}-old`)).toBeNull();
    expect(await redis.hget(cacheKeys.tagVersions, `order:${run}-new`)).not.toBeNull();
  });
});

/**
 * The race a naive cache-aside loses: a reader loads a row, the projection commits a change and
 * deletes the entry, then the reader stores what it read before the commit, and every later read
 * gets it until the TTL ends.
 */
function naiveCache(on: RedisClient): ReadCache {
  return {
    async get(kind, key, tags, load) {
      const stored = await on.get(`naive:${kind}:${key}`);
      if (stored) return JSON.parse(stored) as CacheEntry;
      const body = JSON.stringify(await load());
      const entry = { body, etag: etagOf(body) };
      await on.set(`naive:${kind}:${key}`, JSON.stringify(entry), 'PX', ttlMs[kind]);
      for (const tag of tags) await on.sadd(`naive-tag:${tag}`, `naive:${kind}:${key}`);
      return entry;
    },
    beginInvalidation(tags) {
      return Promise.resolve({ end: () => this.invalidate(tags) });
    },
    async invalidate(tags) {
      for (const tag of tags) {
        const keys = await on.smembers(`naive-tag:${tag}`);
        if (keys.length > 0) await on.del(...keys);
      }
    },
    pruneVersions: () => Promise.resolve(0),
  };
}

describe('read cache: no stale entry after the projection that changed it committed', () => {
  let db: OutboxDatabase;
  let pool: Pool;
  beforeAll(async () => {
    db = await createOutboxDatabase('cache');
    // Room for the 20 readers and the writer at once.
    pool = new Pool({ connectionString: db.url, max: 24 });
    // Dropping the database (WITH FORCE) may end a connection the pool is still closing.
    pool.on('error', () => undefined);
    await pool.query('CREATE TABLE cache_race (id text PRIMARY KEY, version int NOT NULL)');
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  async function newRow(): Promise<string> {
    const id = randomUUID();
    await pool.query('INSERT INTO cache_race (id, version) VALUES ($1, 1)', [id]);
    return id;
  }
  const readVersion = async (id: string) =>
    (await pool.query<{ version: number }>('SELECT version FROM cache_race WHERE id = $1', [id])).rows[0]!.version;

  /** A projection's commit: the row changes and the tag is invalidated around the commit. */
  async function project(cache: ReadCache, id: string, pauseBeforeCommitMs = 0): Promise<number> {
    const client = await pool.connect();
    let invalidation: TagInvalidation | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ version: number }>(
        'UPDATE cache_race SET version = version + 1 WHERE id = $1 RETURNING version',
        [id],
      );
      invalidation = await cache.beginInvalidation([`order:${id}`]);
      if (pauseBeforeCommitMs > 0) await sleep(pauseBeforeCommitMs);
      await client.query('COMMIT');
      return rows[0]!.version;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
      await invalidation?.end();
    }
  }

  it('never stores a load that read the row before a commit, nor shares it with reads after the commit', async () => {
    for (const [name, cache, expectStale] of [
      ['naive', naiveCache(redis), true],
      ['read cache', cacheWith(), false],
    ] as const) {
      const id = await newRow();
      const tags = [`order:${id}`];
      const held = gate();
      // Reader A reads version 1, then is held before returning (and storing) it.
      const readerA = cache.get('order', id, tags, async () => {
        const version = await readVersion(id);
        await held.opened;
        return { version };
      });
      await sleep(50);
      await project(cache, id);

      // Reader B starts after the commit, while A's load of version 1 is still open.
      const readerB = await cache.get('order', id, tags, async () => ({ version: await readVersion(id) }));
      held.open();
      expect(versionOf(await readerA)).toBe(1);
      // Reader C starts after A stored (or tried to store) what it read.
      const readerC = await cache.get('order', id, tags, async () => ({ version: await readVersion(id) }));
      const stale = versionOf(readerB) < 2 || versionOf(readerC) < 2;
      expect({ name, stale }).toEqual({ name, stale: expectStale });
    }
  });

  /**
   * A projection commits again and again while 20 readers read the row through the cache, with a
   * delay in each load between reading the row and returning it, which opens the race window.
   * A read that starts after a commit must see at least that commit's version.
   */
  async function race(cache: ReadCache, commits: number) {
    const id = await newRow();
    const tags = [`order:${id}`];
    let committed = 1;
    let writing = true;
    const stale: { committedBeforeRead: number; got: number }[] = [];
    let reads = 0;
    let outdatedLoads = 0;
    const load = async () => {
      const version = await readVersion(id);
      await sleep(Math.random() * 15);
      if (version < committed) outdatedLoads += 1;
      return { version };
    };
    const writer = (async () => {
      for (let i = 0; i < commits; i += 1) {
        committed = await project(cache, id, Math.random() * 5);
        await sleep(Math.random() * 10);
      }
      writing = false;
    })();
    const readers = Array.from({ length: 20 }, async () => {
      while (writing) {
        const committedBeforeRead = committed;
        const got = versionOf(await cache.get('order', id, tags, load));
        reads += 1;
        if (got < committedBeforeRead) stale.push({ committedBeforeRead, got });
      }
    });
    await Promise.all([writer, ...readers]);
    return { stale, reads, outdatedLoads, finalVersion: committed };
  }

  it('serves no stale read under concurrent commits and reads with slow loads', async () => {
    const result = await race(cacheWith(), 40);
    expect(result.finalVersion).toBe(41);
    expect(result.stale).toEqual([]);
    expect(result.reads).toBeGreaterThan(100);
    // The race window was open: loads returned versions older than the last commit, and were not served later.
    expect(result.outdatedLoads).toBeGreaterThan(0);
  });

  it('(negative control) a naive cache-aside under the same race does serve stale reads', async () => {
    const result = await race(naiveCache(redis), 40);
    expect(result.stale.length).toBeGreaterThan(0);
  });
});

describe('read cache: Redis unavailable', () => {
  it('reads from the loader when Redis refuses connections; an invalidation that cannot begin throws', async () => {
    const metrics = createApiMetrics();
    const cache = cacheWith(metrics, await redisAt('redis://127.0.0.1:1'));
    const entry = await cache.get('search', 'q=shoes', ['product:1'], () => Promise.resolve({ hits: [] }));
    expect(entry?.body).toBe('{"hits":[]}');
    expect(await counts(metrics, 'search')).toEqual({ hit: 0, miss: 0, error: 1, loads: 1 });

    await expect(cache.beginInvalidation(['product:1'])).rejects.toThrow(/cannot invalidate product:1/);
    await expect(cache.invalidate(['product:1'])).rejects.toThrow(/cannot invalidate/);
  });

  it('reads from the loader within the deadline when Redis accepts connections but never answers', async () => {
    const sockets: { destroy(): void }[] = [];
    const silentServer: Server = createServer((socket) => sockets.push(socket));
    const port = await freePort();
    await new Promise<void>((resolve) => silentServer.listen(port, '127.0.0.1', resolve));
    try {
      const metrics = createApiMetrics();
      const cache = cacheWith(metrics, await redisAt(`redis://127.0.0.1:${port}`, false), 200);
      const entry = await cache.get('dashboard', 'seller-1', [], () => Promise.resolve({ revenue: 1 }));
      expect(entry?.body).toBe('{"revenue":1}');
      expect(await counts(metrics, 'dashboard')).toEqual({ hit: 0, miss: 0, error: 1, loads: 1 });
      await expect(cache.beginInvalidation(['seller:1'])).rejects.toThrow(/cannot invalidate seller:1/);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silentServer.close(resolve));
    }
  });
});

describe('conditional reads (ETag, If-None-Match)', () => {
  const body = JSON.stringify({ id: 'o-1', status: 'PAID' });
  const entry: CacheEntry = { body, etag: etagOf(body) };
  const app = express().get('/thing', (req, res) => sendEntry(req, res, entry));

  it('answers 200 with the body, its ETag and Cache-Control: private, no-cache', async () => {
    const res = await request(app).get('/thing').expect(200);
    expect(res.headers['etag']).toBe(entry.etag);
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text).toBe(body);
  });

  it.each([
    ['its ETag', () => entry.etag],
    ['a list holding its weak form', () => `"other", W/${entry.etag}`],
    ['*', () => '*'],
  ])('answers 304 without a body to If-None-Match: %s', async (_, header) => {
    const res = await request(app).get('/thing').set('If-None-Match', header()).expect(304);
    expect(res.text).toBe('');
    expect(res.headers['etag']).toBe(entry.etag);
    expect(res.headers['cache-control']).toBe('private, no-cache');
  });

  it('answers 200 with the body to an If-None-Match naming other tags', async () => {
    const res = await request(app).get('/thing').set('If-None-Match', '"stale", W/"older"').expect(200);
    expect(res.text).toBe(body);
  });
});
