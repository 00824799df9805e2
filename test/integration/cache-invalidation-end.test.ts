import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { cacheKeys, createReadCache, type ReadCache } from '../../lib/cache';
import type { CacheKind } from '../../lib/config';
import { createRedis, type Redis } from '../../lib/redis';
import { redisUrlOn } from '../support/outbox';

/**
 * The end of a tag invalidation (lib/cache-scripts.ts endInvalidation) does only what is needed:
 * while the in-flight mark stood since the begin, clearing it is enough; when the mark expired
 * before the end (a transaction longer than its TTL), what readers stored or looked up meanwhile
 * must not survive the end. Redis database 14 is this file's (keys are unique per test).
 */

const ttlMs: Record<CacheKind, number> = { order: 60_000, orderList: 30_000, search: 20_000, dashboard: 10_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: Redis;
let cache: ReadCache;
beforeAll(async () => {
  redis = createRedis({ redis: { url: redisUrlOn(14) } }, 'shopflow-test-cache-end');
  await redis.connect();
  cache = createReadCache({ redis, ttlMs, logger: pino({ level: 'silent' }), inflightTtlMs: 150 });
});
afterAll(() => redis.disconnect());

const bodyOf = (entry: { body: string } | undefined) => (entry ? (JSON.parse(entry.body) as unknown) : undefined);

it('with the mark standing, the end clears it and moves nothing else', async () => {
  const tag = `order:${randomUUID()}`;
  await cache.get('order', tag, [tag], () => Promise.resolve({ v: 1 }));
  await cache.beginInvalidation([tag]);
  const versionAfterBegin = await redis.get(cacheKeys.tagVersion(tag));
  await cache.endInvalidation([tag]);
  expect(await redis.exists(cacheKeys.inflight(tag))).toBe(0);
  expect(await redis.exists(cacheKeys.tagSet(tag))).toBe(0);
  expect(await redis.get(cacheKeys.tagVersion(tag))).toBe(versionAfterBegin);
  // Stored again after the end, and served.
  expect(bodyOf(await cache.get('order', tag, [tag], () => Promise.resolve({ v: 2 })))).toEqual({ v: 2 });
  expect(bodyOf(await cache.get('order', tag, [tag], () => Promise.resolve({ v: 3 })))).toEqual({ v: 2 });
});

it('with the mark expired before the end, an entry stored meanwhile is gone after the end', async () => {
  const tag = `order:${randomUUID()}`;
  await cache.beginInvalidation([tag]);
  await sleep(300); // the mark expires: the transaction took longer than its TTL
  // A reader stores the row as it was before the commit.
  expect(bodyOf(await cache.get('order', tag, [tag], () => Promise.resolve({ v: 'before' })))).toEqual({
    v: 'before',
  });
  expect(await redis.exists(cacheKeys.entry('order', tag))).toBe(1);
  // Commit, then end.
  await cache.endInvalidation([tag]);
  expect(await redis.exists(cacheKeys.entry('order', tag))).toBe(0);
  expect(await redis.exists(cacheKeys.inflight(tag))).toBe(0);
  expect(bodyOf(await cache.get('order', tag, [tag], () => Promise.resolve({ v: 'after' })))).toEqual({ v: 'after' });
});

it('with the mark expired before the end, a load that looked up meanwhile and stores after the end is refused', async () => {
  const tag = `order:${randomUUID()}`;
  await cache.beginInvalidation([tag]);
  await sleep(300);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const slow = cache.get('order', tag, [tag], async () => {
    await held;
    return { v: 'before' };
  });
  await sleep(20);
  await cache.endInvalidation([tag]);
  release();
  expect(bodyOf(await slow)).toEqual({ v: 'before' });
  expect(await redis.exists(cacheKeys.entry('order', tag))).toBe(0);
  expect(bodyOf(await cache.get('order', tag, [tag], () => Promise.resolve({ v: 'after' })))).toEqual({ v: 'after' });
});
