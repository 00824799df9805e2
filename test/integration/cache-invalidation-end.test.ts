import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { cacheKeys, createReadCache, type ReadCache } from '../../read-models/cache';
import type { CacheKind } from '../../platform/config';
import { createRedis, type RedisClient } from '../../platform/redis';
import { redisUrlOn } from '../support/outbox';
import { testRedisClusterNodes } from '../support/redis';

/**
 * The end of a tag invalidation (read-models/cache.ts) does only what is needed: while the in-flight record
 * stood since the begin, removing it is enough; when it outlived its deadline (a transaction longer
 * than the in-flight TTL), what readers stored or looked up meanwhile must not be served after the
 * end. Redis database 14 is this file's (keys are unique per test).
 */

const ttlMs: Record<CacheKind, number> = { order: 60_000, orderList: 30_000, search: 20_000, dashboard: 10_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: RedisClient;
/** In-flight records that expire fast, for the tests of an end past the deadline. */
let cache: ReadCache;
/** In-flight records that outlast any test, however slow the machine: the record surely stands. */
let standing: ReadCache;
beforeAll(async () => {
  redis = createRedis(
    { redis: { url: redisUrlOn(14), clusterNodes: testRedisClusterNodes() } },
    'shopflow-test-cache-end',
  );
  await redis.connect();
  cache = createReadCache({ redis, ttlMs, logger: pino({ level: 'silent' }), inflightTtlMs: 150 });
  standing = createReadCache({ redis, ttlMs, logger: pino({ level: 'silent' }), inflightTtlMs: 60_000 });
});
afterAll(() => redis.disconnect());

const bodyOf = (entry: { body: string } | undefined) => (entry ? (JSON.parse(entry.body) as unknown) : undefined);

it('with the record standing, the end removes it and moves no version', async () => {
  const tag = `order:${randomUUID()}`;
  await standing.get('order', tag, [tag], () => Promise.resolve({ v: 1 }));
  const invalidation = await standing.beginInvalidation([tag]);
  const versionAfterBegin = await redis.hget(cacheKeys.tagVersions, tag);
  // In flight: loaded, not stored.
  expect(bodyOf(await standing.get('order', tag, [tag], () => Promise.resolve({ v: 'during' })))).toEqual({
    v: 'during',
  });
  await invalidation.end();
  expect(await redis.hlen(cacheKeys.inFlight)).toBe(0);
  expect(await redis.hget(cacheKeys.tagVersions, tag)).toBe(versionAfterBegin);
  // Stored again after the end, and served.
  expect(bodyOf(await standing.get('order', tag, [tag], () => Promise.resolve({ v: 2 })))).toEqual({ v: 2 });
  expect(bodyOf(await standing.get('order', tag, [tag], () => Promise.resolve({ v: 3 })))).toEqual({ v: 2 });
});

it('with the record past its deadline before the end, an entry stored meanwhile is not served after the end', async () => {
  const tag = `order:${randomUUID()}`;
  const invalidation = await cache.beginInvalidation([tag]);
  await sleep(300); // past the deadline: the transaction took longer than its TTL
  // A reader stores the row as it was before the commit.
  expect(bodyOf(await cache.get('order', tag, [tag], () => Promise.resolve({ v: 'before' })))).toEqual({
    v: 'before',
  });
  expect(bodyOf(await cache.get('order', tag, [tag], () => Promise.resolve({ v: 'not loaded' })))).toEqual({
    v: 'before',
  });
  // Commit, then end.
  await invalidation.end();
  expect(await redis.hlen(cacheKeys.inFlight)).toBe(0);
  expect(bodyOf(await cache.get('order', tag, [tag], () => Promise.resolve({ v: 'after' })))).toEqual({ v: 'after' });
});

it('with the record past its deadline, a load that looked up before the end and stores after it is not served', async () => {
  const tag = `order:${randomUUID()}`;
  const invalidation = await cache.beginInvalidation([tag]);
  await sleep(300);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const slow = cache.get('order', tag, [tag], async () => {
    await held;
    return { v: 'before' };
  });
  await sleep(20);
  await invalidation.end();
  release();
  expect(bodyOf(await slow)).toEqual({ v: 'before' });
  expect(await redis.exists(cacheKeys.entry('order', tag))).toBe(1);
  expect(bodyOf(await cache.get('order', tag, [tag], () => Promise.resolve({ v: 'after' })))).toEqual({ v: 'after' });
});
