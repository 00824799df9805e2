import { createHash } from 'node:crypto';
import { cacheScripts } from './cache-scripts';
import type { CacheKind } from './config';
import type { Logger } from './logger';
import { throttledWarning } from './throttled-warning';
import type { ApiMetrics } from './metrics';
import type { Redis } from './redis';

/**
 * The read cache: cache-aside in Redis for read-model reads, with a TTL per kind and tags
 * (`order:<id>`, `seller:<id>`, ...) that projections invalidate when they change what a tag covers.
 *
 * Why an entry is never stale once the projection that changed it has committed:
 * - `beginInvalidation` (inside the projection's transaction) marks each tag in flight, moves its
 *   version and deletes its entries; `endInvalidation` (after the commit) clears the mark, and if
 *   the mark expired meanwhile (a transaction longer than its TTL) deletes the entries again and
 *   moves the version again (lib/cache-scripts.ts says why that is enough).
 * - A miss reads the tags' versions and marks *before* loading, and stores what it loaded with one
 *   script that refuses when a version moved or a tag is in flight: a load that may have read rows
 *   from before a commit never lands in Redis.
 * - Concurrent misses share one load only when they saw the same versions and no tag in flight, so
 *   a read that starts after a commit never receives a load that started before it.
 *
 * Redis failing never fails a read: it is loaded from PostgreSQL. An invalidation that cannot
 * begin throws, so the projection's transaction rolls back and is retried rather than skipped.
 */

export interface CacheEntry {
  /** JSON text, sent as the response body. */
  body: string;
  /** Strong ETag of the body, quoted. */
  etag: string;
}

export interface ReadCache {
  /**
   * Cache-aside with tags. Hit: the stored entry. Miss: load() runs once per key per process even
   * under concurrent misses (single flight), and its JSON is stored with the kind's TTL and tags,
   * unless one of the tags was invalidated while loading. load() returning undefined means not
   * found: nothing is cached, get() returns undefined. Redis errors never fail the read.
   */
  get(kind: CacheKind, key: string, tags: string[], load: () => Promise<unknown>): Promise<CacheEntry | undefined>;
  /** For projections: inside the transaction, before its commit. Throws when Redis cannot do it. */
  beginInvalidation(tags: string[]): Promise<void>;
  /** For projections: right after the commit. Retries, then logs; never throws. */
  endInvalidation(tags: string[]): Promise<void>;
  /** Begin and end at once, for changes made outside a transaction. */
  invalidate(tags: string[]): Promise<void>;
}

export interface ReadCacheOptions {
  redis: Redis;
  ttlMs: Record<CacheKind, number>;
  logger: Logger;
  /** Absent in processes that only invalidate (projectors). */
  metrics?: Pick<ApiMetrics, 'cacheRequests' | 'cacheLoads'>;
  /** How long a tag stays in flight if the process dies between begin and end. */
  inflightTtlMs?: number;
  /** Deadline of each Redis call, so a Redis that hangs slows reads by this much at most. */
  redisTimeoutMs?: number;
}

const PREFIX = 'shopflow:cache';

export const cacheKeys = {
  entry: (kind: CacheKind, key: string) => `${PREFIX}:${kind}:${key}`,
  tagSet: (tag: string) => `${PREFIX}:tag:${tag}`,
  tagVersion: (tag: string) => `${PREFIX}:tagver:${tag}`,
  inflight: (tag: string) => `${PREFIX}:inflight:${tag}`,
} as const;

/** The three keys of a tag, in the order the scripts take them. */
function tagKeys(tags: string[]): string[] {
  return tags.flatMap((tag) => [cacheKeys.tagVersion(tag), cacheKeys.inflight(tag), cacheKeys.tagSet(tag)]);
}

export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** The entry the cache would store for `value`, for reads that bypass it. */
export function entryOf(value: unknown): CacheEntry {
  const body = JSON.stringify(value);
  return { body, etag: etagOf(body) };
}

function parseEntry(stored: string): CacheEntry | undefined {
  try {
    const { body, etag } = JSON.parse(stored) as Partial<CacheEntry>;
    return typeof body === 'string' && typeof etag === 'string' ? { body, etag } : undefined;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis: no answer to ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const END_RETRY_DELAYS_MS = [50, 250];

export function createReadCache(options: ReadCacheOptions): ReadCache {
  const { redis, ttlMs, logger, metrics } = options;
  const inflightTtlMs = options.inflightTtlMs ?? 30_000;
  const redisTimeoutMs = options.redisTimeoutMs ?? 1_000;
  const longestTtlMs = Math.max(...Object.values(ttlMs));
  // A version that expired and came back as '0' could match what a load saw before: versions
  // outlive any load by far, and a load older than half this is not stored (see loadAndStore).
  const versionTtlMs = Math.max(2 * longestTtlMs, 10 * 60_000);
  const warn = throttledWarning(logger);
  const flights = new Map<string, Promise<CacheEntry | undefined>>();

  const call = <T>(what: string, run: () => Promise<T>) => withTimeout(run(), redisTimeoutMs, what);

  async function loadEntry(kind: CacheKind, load: () => Promise<unknown>): Promise<CacheEntry | undefined> {
    metrics?.cacheLoads.inc({ kind });
    const value = await load();
    return value === undefined ? undefined : entryOf(value);
  }

  async function loadAndStore(
    kind: CacheKind,
    entryKey: string,
    tags: string[],
    versionsSeen: string[],
    load: () => Promise<unknown>,
  ): Promise<CacheEntry | undefined> {
    const startedAt = Date.now();
    const entry = await loadEntry(kind, load);
    if (entry === undefined || Date.now() - startedAt > versionTtlMs / 2) return entry;
    try {
      await call('store', () =>
        cacheScripts.storeIfUnchanged.run(
          redis,
          [entryKey, ...tagKeys(tags)],
          [JSON.stringify(entry), ttlMs[kind], longestTtlMs, ...versionsSeen],
        ),
      );
    } catch (error) {
      warn(error, 'read cache: storing an entry failed');
    }
    return entry;
  }

  async function beginInvalidation(tags: string[]): Promise<void> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return;
    try {
      await call('beginInvalidation', () =>
        cacheScripts.beginInvalidation.run(redis, tagKeys(unique), [inflightTtlMs, versionTtlMs]),
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`read cache: cannot invalidate ${unique.join(', ')}: ${reason}`, { cause: error });
    }
  }

  async function endInvalidation(tags: string[]): Promise<void> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await call('endInvalidation', () =>
          cacheScripts.endInvalidation.run(redis, tagKeys(unique), [inflightTtlMs, versionTtlMs]),
        );
        return;
      } catch (error) {
        const delay = END_RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          // The committed change is not cached (begin deleted its entries); the in-flight marks
          // keep these tags uncached until they expire.
          logger.error({ err: error, tags: unique, inflightTtlMs }, 'read cache: ending an invalidation failed');
          return;
        }
        await sleep(delay);
      }
    }
  }

  return {
    async get(kind, key, tags, load) {
      const entryKey = cacheKeys.entry(kind, key);
      const unique = [...new Set(tags)];
      let found: (string | null)[];
      try {
        const stateKeys = unique.flatMap((tag) => [cacheKeys.tagVersion(tag), cacheKeys.inflight(tag)]);
        found = await call('lookup', () => redis.mget(entryKey, ...stateKeys));
      } catch (error) {
        metrics?.cacheRequests.inc({ kind, result: 'error' });
        warn(error, 'read cache unavailable: reading from PostgreSQL');
        return loadEntry(kind, load);
      }
      const [stored, ...state] = found;
      const cached = stored ? parseEntry(stored) : undefined;
      metrics?.cacheRequests.inc({ kind, result: cached ? 'hit' : 'miss' });
      if (cached) return cached;

      const versionsSeen = unique.map((_, i) => state[2 * i] ?? '0');
      const inFlight = unique.some((_, i) => Number(state[2 * i + 1] ?? 0) > 0);
      // While a tag is being invalidated, a load may read rows about to change: such a load is
      // neither shared with later reads nor stored.
      if (inFlight) return loadEntry(kind, load);
      const flightKey = JSON.stringify([entryKey, unique, versionsSeen]);
      let flight = flights.get(flightKey);
      if (!flight) {
        flight = loadAndStore(kind, entryKey, unique, versionsSeen, load).finally(() => flights.delete(flightKey));
        flights.set(flightKey, flight);
      }
      return flight;
    },
    beginInvalidation,
    endInvalidation,
    async invalidate(tags) {
      await beginInvalidation(tags);
      await endInvalidation(tags);
    },
  };
}
