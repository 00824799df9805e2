import { createHash, randomBytes } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { CacheKind } from '../platform/config';
import type { Logger } from '../platform/logger';
import { throttledWarning } from '../platform/throttled-warning';
import type { ApiMetrics } from '../platform/metrics';
import type { RedisClient } from '../platform/redis';
import { withTimeout } from '../platform/timeout';

/**
 * The read cache: cache-aside in Redis for read-model reads, with a TTL per kind and tags
 * (`order:<id>`, `seller:<id>`, ...) that projections invalidate when they change what a tag covers.
 *
 * Tags are versioned, not enumerated (as Symfony's tag-aware cache does it): each tag has a version
 * in one hash, each entry carries the versions of its tags as they were when its load began, and an
 * entry is served only while they are still current. Invalidating is moving versions, one HSET
 * for any number of tags; nothing enumerates or deletes entries (stale ones expire with their TTL).
 *
 * Why an entry is never stale once the projection that changed it has committed:
 * - `beginInvalidation` (inside the projection's transaction) first records the invalidation as in
 *   flight (one field of the in-flight hash, naming its tags and a deadline), then moves its tags'
 *   versions: every entry stored before is no longer served.
 * - A miss reads its tags' versions and *then* the in-flight hash (this order matters: an
 *   invalidation whose versions it saw is already recorded as in flight). It loads, and stores the
 *   entry with the versions it read, unless a tag was in flight: such a load may read rows as they
 *   were before a commit.
 * - A load that began before an invalidation carries versions that the invalidation moved, so it is
 *   never served, wherever its store lands in time.
 * - `end` (right after the commit) removes the in-flight record. When the record outlived its
 *   deadline (a transaction longer than the in-flight TTL, or readers that cleaned it up), loads may
 *   have stored rows from before the commit, so the end moves the versions again.
 *
 * Both control keys share a hash tag, so that on a Redis Cluster they are in one slot and the
 * begin's pipeline (in flight, then versions) reaches them in order on one node; entries spread
 * over the cluster by their own keys. No command or pipeline touches keys of two slots.
 * Redis failing never fails a read: it is loaded from PostgreSQL. An invalidation that cannot begin
 * throws, so the projection's transaction rolls back and is retried rather than skipped.
 */

export interface CacheEntry {
  /** JSON text, sent as the response body. */
  body: string;
  /** Strong ETag of the body, quoted. */
  etag: string;
}

/** An invalidation begun inside a transaction; `end` it right after the commit (or the rollback). */
export interface TagInvalidation {
  /** Retries, then logs; never throws. */
  end(): Promise<void>;
}

/** The part of the read cache a projection needs: invalidation by tag around its commit. */
export interface TagInvalidator {
  /** Inside the transaction, before its commit. Throws when Redis cannot do it. */
  beginInvalidation(tags: string[]): Promise<TagInvalidation>;
}

export interface ReadCache extends TagInvalidator {
  /**
   * Cache-aside with tags. Hit: the stored entry. Miss: load() runs once per key per process even
   * under concurrent misses (single flight), and its JSON is stored with the kind's TTL and the
   * tags' versions, unless one of the tags was being invalidated. load() returning undefined means
   * not found: nothing is cached, get() returns undefined. Redis errors never fail the read.
   */
  get(kind: CacheKind, key: string, tags: string[], load: () => Promise<unknown>): Promise<CacheEntry | undefined>;
  /** For changes already committed outside a transaction: moves the tags' versions. Throws on failure. */
  invalidate(tags: string[]): Promise<void>;
  /** Forgets versions older than the version TTL (a housekeeping task of the projector). Returns how many. */
  pruneVersions(): Promise<number>;
}

export interface ReadCacheOptions {
  redis: RedisClient;
  ttlMs: Record<CacheKind, number>;
  logger: Logger;
  /** Absent in processes that only invalidate (projectors). */
  metrics?: Pick<ApiMetrics, 'cacheRequests' | 'cacheLoads'>;
  /** How long an invalidation stays in flight if the process dies between begin and end. */
  inflightTtlMs?: number;
  /** Deadline of each Redis call, so a Redis that hangs slows reads by this much at most. */
  redisTimeoutMs?: number;
  /** How long a tag's version is kept after it last moved (at least twice the longest entry TTL). */
  versionTtlMs?: number;
}

const PREFIX = 'shopflow:cache';

export const cacheKeys = {
  entry: (kind: CacheKind, key: string) => `${PREFIX}:${kind}:${key}`,
  /** Hash: tag → version (a token that starts with the time it was made, in base 36 ms). */
  tagVersions: `{${PREFIX}}:tag-versions`,
  /** Hash: invalidation token → `{ until, tags }` while the invalidation is in flight. */
  inFlight: `{${PREFIX}}:in-flight`,
} as const;

interface StoredEntry extends CacheEntry {
  /** The version of each tag when the load began ('' when the tag had none). */
  versions: Record<string, string>;
}

interface InFlightRecord {
  until: number;
  tags: string[];
}

export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** The entry the cache would store for `value`, for reads that bypass it. */
export function entryOf(value: unknown): CacheEntry {
  const body = JSON.stringify(value);
  return { body, etag: etagOf(body) };
}

function parseStored(stored: string): StoredEntry | undefined {
  try {
    const { body, etag, versions } = JSON.parse(stored) as Partial<StoredEntry>;
    const valid = typeof body === 'string' && typeof etag === 'string' && typeof versions === 'object';
    return valid && versions !== null ? { body, etag, versions } : undefined;
  } catch {
    return undefined;
  }
}

function parseInFlight(stored: string): InFlightRecord | undefined {
  try {
    const { until, tags } = JSON.parse(stored) as Partial<InFlightRecord>;
    return typeof until === 'number' && Array.isArray(tags) ? { until, tags } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Past this many tags, an in-flight record names their kinds (`seller:*`) instead: every reader
 * misses would otherwise fetch a long list. Readers then store no entry of those kinds meanwhile.
 */
const MAX_TAGS_NAMED_IN_FLIGHT = 64;
const inFlightTags = (tags: string[]) =>
  tags.length <= MAX_TAGS_NAMED_IN_FLIGHT
    ? tags
    : [...new Set(tags.map((tag) => `${tag.slice(0, tag.indexOf(':') + 1)}*`))];
const covers = (recorded: string, tag: string) =>
  recorded.endsWith('*') ? tag.startsWith(recorded.slice(0, -1)) : recorded === tag;

/** The time a version token was made (its base-36 prefix), NaN when it is not a token. */
const madeAt = (token: string) => parseInt(token.slice(0, token.indexOf('.')), 36);

/** Runs a pipeline and returns its replies, throwing the first command's error. */
async function replies(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const END_RETRY_DELAYS_MS = [50, 250];
const NOTHING_TO_END: TagInvalidation = { end: () => Promise.resolve() };

export function createReadCache(options: ReadCacheOptions): ReadCache {
  const { redis, ttlMs, logger, metrics } = options;
  const inflightTtlMs = options.inflightTtlMs ?? 30_000;
  const redisTimeoutMs = options.redisTimeoutMs ?? 1_000;
  const longestTtlMs = Math.max(...Object.values(ttlMs));
  // A pruned version reads as '' again: an entry stored with '' before the version moved must
  // have expired by then, and a load older than half this is not stored (see loadAndStore).
  const versionTtlMs = Math.max(options.versionTtlMs ?? 10 * 60_000, 2 * longestTtlMs);
  const warn = throttledWarning(logger);
  const flights = new Map<string, Promise<CacheEntry | undefined>>();
  const processTag = randomBytes(4).toString('hex');
  let tokens = 0;
  const newToken = () => `${Date.now().toString(36)}.${processTag}.${(tokens++).toString(36)}`;

  const call = <T>(what: string, run: () => Promise<T>) =>
    withTimeout(run(), redisTimeoutMs, `redis: no answer to ${what} within ${redisTimeoutMs} ms`);
  const moveVersions = (tags: string[], token = newToken()) =>
    call('moveVersions', () => redis.hset(cacheKeys.tagVersions, ...tags.flatMap((tag) => [tag, token])));
  const named = (tags: string[]) =>
    tags.length > 5 ? `${tags.slice(0, 5).join(', ')} and ${tags.length - 5} more` : tags.join(', ');

  async function loadEntry(kind: CacheKind, load: () => Promise<unknown>): Promise<CacheEntry | undefined> {
    metrics?.cacheLoads.inc({ kind });
    const value = await load();
    return value === undefined ? undefined : entryOf(value);
  }

  /** Whether an invalidation of one of `tags` is in flight; cleans up records past their deadline. */
  async function anyInFlight(tags: string[]): Promise<boolean> {
    const records = await call('inFlight', () => redis.hgetall(cacheKeys.inFlight));
    const now = Date.now();
    const expired: string[] = [];
    let inFlight = false;
    for (const [token, stored] of Object.entries(records)) {
      const record = parseInFlight(stored);
      if (!record || record.until <= now) expired.push(token);
      else if (!inFlight && record.tags.some((recorded) => tags.some((tag) => covers(recorded, tag)))) inFlight = true;
    }
    if (expired.length > 0) redis.hdel(cacheKeys.inFlight, ...expired).catch(() => undefined);
    return inFlight;
  }

  async function loadAndStore(
    kind: CacheKind,
    entryKey: string,
    versions: Record<string, string>,
    load: () => Promise<unknown>,
  ): Promise<CacheEntry | undefined> {
    const startedAt = Date.now();
    const entry = await loadEntry(kind, load);
    if (entry === undefined || Date.now() - startedAt > versionTtlMs / 2) return entry;
    const stored: StoredEntry = { ...entry, versions };
    try {
      await call('store', () => redis.set(entryKey, JSON.stringify(stored), 'PX', ttlMs[kind]));
    } catch (error) {
      warn(error, 'read cache: storing an entry failed');
    }
    return entry;
  }

  async function endInvalidation(token: string, tags: string[], until: number): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const removed = await call('endInvalidation', () => redis.hdel(cacheKeys.inFlight, token));
        // Readers may have counted the record as expired before it was removed (clocks differ a
        // little between processes, hence the margin): what they stored must not be served.
        if (removed === 0 || Date.now() > until - inflightTtlMs / 2) await moveVersions(tags);
        return;
      } catch (error) {
        const delay = END_RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          // The committed change is never served stale (the begin moved the versions); the
          // in-flight record keeps these tags uncached until its deadline.
          logger.error({ err: error, tags: tags.length, inflightTtlMs }, 'read cache: ending an invalidation failed');
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
      let versions: Record<string, string>;
      let cached: StoredEntry | undefined;
      try {
        // Two commands sent together, not one pipeline: the entry and the versions are in different
        // slots (nodes of a Redis Cluster). Their order does not matter: an entry is served only
        // with the versions it was stored with, and versions read before the entry only make this
        // read take effect a little earlier.
        const [stored, current] = await call('lookup', () =>
          Promise.all([
            redis.get(entryKey),
            unique.length > 0 ? redis.hmget(cacheKeys.tagVersions, ...unique) : Promise.resolve([]),
          ]),
        );
        versions = Object.fromEntries(unique.map((tag, i) => [tag, current[i] ?? '']));
        cached = stored ? parseStored(stored) : undefined;
      } catch (error) {
        metrics?.cacheRequests.inc({ kind, result: 'error' });
        warn(error, 'read cache unavailable: reading from PostgreSQL');
        return loadEntry(kind, load);
      }
      const current = cached && unique.every((tag) => cached.versions[tag] === versions[tag]);
      metrics?.cacheRequests.inc({ kind, result: current ? 'hit' : 'miss' });
      if (cached && current) return { body: cached.body, etag: cached.etag };

      let inFlight: boolean;
      try {
        inFlight = unique.length > 0 && (await anyInFlight(unique));
      } catch (error) {
        warn(error, 'read cache: in-flight lookup failed; reading from PostgreSQL');
        return loadEntry(kind, load);
      }
      // While a tag is being invalidated, a load may read rows about to change: such a load is
      // neither shared with later reads nor stored.
      if (inFlight) return loadEntry(kind, load);
      const flightKey = JSON.stringify([entryKey, versions]);
      let flight = flights.get(flightKey);
      if (!flight) {
        flight = loadAndStore(kind, entryKey, versions, load).finally(() => flights.delete(flightKey));
        flights.set(flightKey, flight);
      }
      return flight;
    },

    async beginInvalidation(tags) {
      const unique = [...new Set(tags)];
      if (unique.length === 0) return NOTHING_TO_END;
      const token = newToken();
      const until = Date.now() + inflightTtlMs;
      const record: InFlightRecord = { until, tags: inFlightTags(unique) };
      try {
        // In flight first, versions second, in one round trip (a pipeline keeps the order).
        await call('beginInvalidation', () =>
          replies(
            redis
              .pipeline()
              .hset(cacheKeys.inFlight, token, JSON.stringify(record))
              .hset(cacheKeys.tagVersions, ...unique.flatMap((tag) => [tag, token])),
          ),
        );
      } catch (error) {
        redis.hdel(cacheKeys.inFlight, token).catch(() => undefined);
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`read cache: cannot invalidate ${named(unique)}: ${reason}`, { cause: error });
      }
      return { end: () => endInvalidation(token, unique, until) };
    },

    async invalidate(tags) {
      const unique = [...new Set(tags)];
      if (unique.length === 0) return;
      try {
        await moveVersions(unique);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`read cache: cannot invalidate ${named(unique)}: ${reason}`, { cause: error });
      }
    },

    async pruneVersions() {
      const oldest = Date.now() - versionTtlMs;
      let cursor = '0';
      let pruned = 0;
      do {
        const [next, flat] = await redis.hscan(cacheKeys.tagVersions, cursor, 'COUNT', 1000);
        cursor = next;
        const old: string[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) if (!(madeAt(flat[i + 1]!) >= oldest)) old.push(flat[i]!);
        if (old.length > 0) pruned += await redis.hdel(cacheKeys.tagVersions, ...old);
      } while (cursor !== '0');
      return pruned;
    },
  };
}
