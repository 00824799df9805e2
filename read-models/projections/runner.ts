import type { RedisClient } from '../../platform/redis';
import type { Pool } from 'pg';
import type { TagInvalidation, TagInvalidator } from '../cache';
import type { Database } from '../../platform/database';
import type { Logger } from '../../platform/logger';
import type { ProjectorMetrics } from '../../platform/metrics';
import type { ShardRouter } from '../../platform/shards/router';
import { eventStreamName } from '../../events/outbox-relay';
import { consumeGroups } from '../../events/stream-consumer';
import { applyBatch, applyUpToAll, liveTarget, lockProjectionExclusive, type ApplyTarget } from './apply';
import { eventMarks, eventsInRanges, latestVersions, unappliedEvents, type EventRange } from './event-feed';
import type { Projection } from './projection';
import { partitionKeyOf, partitionKeysOf, shardReads, wholeRuns, type ShardEvents } from './shard-events';
import { inTransaction } from './sql';

/**
 * Runs projections: live from the relay's streams, and catch-up straight from the event store.
 *
 * Live, each projection reads each of its aggregate types' streams in a consumer group named after
 * it. One reader per stream reads all the groups on it in rounds (events/stream-consumer.ts
 * consumeGroups) and applies a round's entries for every projection in one transaction
 * (read-models/projections/apply.ts keeps it exactly once and gap-free, per projection), and the cache tags
 * they touched are invalidated around the commit, in one call: begun inside the transaction, ended
 * right after it, so no reader can see a stale entry once the commit is done (read-models/cache.ts explains
 * the protocol). When entries trickle in, rounds start at least `lingerMs` apart (group commit).
 *
 * At start-up a projector first catches up from the event store, so events that never reached a
 * stream, or that Redis lost, are applied too; and again whenever a stream reads again after Redis
 * was away (a restart, a failover), since entries published meanwhile may be gone.
 *
 * With a shard router, events are read from every shard's event store as well, live and in
 * catch-ups (read-models/projections/shard-events.ts); without one, from the read database only.
 */

export interface CatchUpOptions {
  db: Database;
  projection: Projection;
  target?: ApplyTarget;
  batchSize?: number;
  cache?: TagInvalidator;
  /** Start after this global position (a rebuild's bulk pass); 0 considers every event. */
  afterPosition?: bigint;
  onProgress?: (applied: number) => void;
  /** Then every other database of the shard map, each from its first event (`afterPosition` is the read database's). */
  shards?: ShardEvents;
}

export interface CatchUpResult {
  applied: number;
  /** The global position of the last event applied (the given start when none was). */
  lastPosition: bigint;
}

/**
 * Applies, in global order and in batches, every event the projection has not applied yet: the
 * read database's, then each shard's.
 */
export async function catchUp(options: CatchUpOptions): Promise<CatchUpResult> {
  const local = await catchUpLocal(options);
  if (!options.shards) return local;
  let applied = local.applied;
  const others = (await options.shards.router.databases()).filter((db) => db !== options.shards!.readDb);
  for (const shard of others) {
    applied += await catchUpShard(options, shard, (n) => options.onProgress?.(local.applied + n));
  }
  return { applied, lastPosition: local.lastPosition };
}

async function catchUpLocal(options: CatchUpOptions): Promise<CatchUpResult> {
  const { db, projection, cache } = options;
  const target = options.target ?? liveTarget(projection);
  const batchSize = options.batchSize ?? 1_000;
  let after = options.afterPosition ?? 0n;
  let applied = 0;
  for (;;) {
    let begun: TagInvalidation | undefined;
    const batch = await db
      .$transaction(
        async (tx) => {
          // Positions are read without row locks below: live appliers must not commit meanwhile
          // (another projector starting up would otherwise apply what a live one is applying).
          if (!target.shadow) await lockProjectionExclusive(tx, projection.name);
          const events = await unappliedEvents(tx, target.positionsName, projection.aggregateTypes, after, batchSize);
          if (events.length === 0) return undefined;
          const tags = await applyBatch(tx, projection, events, target);
          if (cache && tags.length > 0) begun = await cache.beginInvalidation(tags);
          return { count: events.length, last: events[events.length - 1]!.position };
        },
        { timeout: 300_000, maxWait: 30_000 },
      )
      // Ended whether the batch committed or not: a rolled-back begin must not keep its tags
      // uncacheable until the in-flight record expires.
      .finally(() => begun?.end());
    if (!batch) return { applied, lastPosition: after };
    after = batch.last;
    applied += batch.count;
    options.onProgress?.(applied);
  }
}

/**
 * One shard's events the projection lacks. The shard's positions are in another database than the
 * read database's, so no join: each batch lists the shard's next events without payloads, finds
 * in the read database which of them are not applied, and reads only those (each aggregate from
 * the version after the one applied, so a batch never leaves a gap). An aggregate the shard does
 * not hold whole (moved away meanwhile) is left to the shard that holds it, or to its stream.
 */
async function catchUpShard(
  options: CatchUpOptions,
  shard: Database,
  onProgress: (n: number) => void,
): Promise<number> {
  const { db, projection, cache } = options;
  const shards = options.shards!;
  const target = options.target ?? liveTarget(projection);
  const batchSize = options.batchSize ?? 1_000;
  let after = 0n;
  let applied = 0;
  for (;;) {
    const marks = await eventMarks(shard, projection.aggregateTypes, after, batchSize);
    if (marks.length === 0) return applied;
    after = marks[marks.length - 1]!.position;
    const reached = latestVersions(marks);
    let begun: TagInvalidation | undefined;
    const count = await db
      .$transaction(
        async (tx) => {
          if (!target.shadow) await lockProjectionExclusive(tx, projection.name);
          const held = await tx.$queryRawUnsafe<
            { aggregate_id: string; version: number; partition_key: string | null }[]
          >(
            `SELECT aggregate_id::text AS aggregate_id, version, partition_key FROM read_models.projection_positions
             WHERE projection = $1 AND aggregate_id = ANY($2::uuid[])`,
            target.positionsName,
            [...reached.keys()],
          );
          const heldBy = new Map(held.map((row) => [row.aggregate_id, row]));
          const ranges: EventRange[] = [];
          for (const [aggregate_id, upto] of reached) {
            const from = heldBy.get(aggregate_id)?.version ?? 0;
            if (upto > from) ranges.push({ aggregate_id, after: from, upto });
          }
          if (ranges.length === 0) return 0;
          const whole = wholeRuns(ranges, await eventsInRanges(shard, ranges));
          if (whole.length === 0) return 0;
          const keys = new Map<string, string>();
          for (const row of held) if (row.partition_key !== null) keys.set(row.aggregate_id, row.partition_key);
          for (const [aggregateId, key] of partitionKeysOf(whole)) keys.set(aggregateId, key);
          const tags = await applyBatch(tx, projection, whole, target, shardReads(shards, tx, keys));
          if (cache && tags.length > 0) begun = await cache.beginInvalidation(tags);
          return whole.length;
        },
        { timeout: 300_000, maxWait: 30_000 },
      )
      .finally(() => begun?.end());
    applied += count;
    if (count > 0) onProgress(applied);
  }
}

export interface ProjectorOptions {
  db: Database;
  /**
   * A pg pool for the live transactions (the hot path), created once by the process. Without it
   * they run through Prisma, as the start-up catch-up always does.
   */
  pool?: Pool;
  projections: readonly Projection[];
  /** A fresh Redis connection for each stream reader (XREADGROUP BLOCK holds its connection). */
  connectRedis: () => RedisClient;
  cache?: TagInvalidator;
  metrics?: ProjectorMetrics;
  logger?: Logger;
  /** This process's name within each consumer group. */
  consumer: string;
  blockMs?: number;
  claimIdleMs?: number;
  retryDelayMs?: number;
  /** Entries per group and round. */
  count?: number;
  /** Called once per live transaction, committed or not (a metric of the process). */
  onTransaction?: () => void;
  /** How long a round that brought fewer than `count` entries waits before the next (see consumeGroups). */
  lingerMs?: number;
  /**
   * The shard map's router, whose catalogue client is `db`: events are then read from every
   * shard's store too. Without it, from `db`'s alone (one database).
   */
  shardRouter?: ShardRouter;
}

/** The default wait for more entries when they trickle in. */
export const DEFAULT_LINGER_MS = 50;

export interface RunningProjector {
  /** Resolves once the start-up catch-up is done and every stream is being read. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export function startProjector(options: ProjectorOptions): RunningProjector {
  const { db, projections, cache, metrics, logger } = options;
  const shards: ShardEvents | undefined = options.shardRouter ? { router: options.shardRouter, readDb: db } : undefined;
  const abort = new AbortController();
  const connections: RedisClient[] = [];
  const loops: Promise<void>[] = [];

  const catchUpAll = async (when: string): Promise<void> => {
    for (const projection of projections) {
      const { applied } = await catchUp({ db, projection, cache, ...(shards ? { shards } : {}) });
      if (applied > 0) {
        metrics?.eventsApplied.inc({ projection: projection.name }, applied);
        logger?.info({ projection: projection.name, applied, when }, 'projection caught up from the event store');
      }
    }
  };
  // A stream that reads again after Redis was away may have lost entries the relay had published
  // (a Redis restarted empty; a failover that lost what the old master had not replicated yet) and
  // will not publish again. An aggregate with a later event catches up live (apply.ts reads the
  // versions in between from the store); one whose last event was lost has no later event to pull
  // it, so every projection catches up from the event store, as at start: one catch-up at a time,
  // and one more when the streams came back again meanwhile.
  let recovering: Promise<void> | undefined;
  let recoverAgain = false;
  const recoverFromOutage = (): void => {
    if (recovering) {
      recoverAgain = true;
      return;
    }
    recovering = (async () => {
      do {
        recoverAgain = false;
        await catchUpAll('after Redis came back').catch((error: unknown) =>
          logger?.warn({ err: error }, 'catching up after a Redis outage failed; the next one will retry'),
        );
      } while (recoverAgain && !abort.signal.aborted);
    })().finally(() => (recovering = undefined));
  };

  const ready = (async () => {
    await catchUpAll('at start');
    const aggregateTypes = [...new Set(projections.flatMap((p) => p.aggregateTypes))];
    for (const aggregateType of aggregateTypes) {
      // In the projector's order: applyUpToAll takes their locks in the order given.
      const following = projections.filter((p) => p.aggregateTypes.includes(aggregateType));
      const redis = options.connectRedis();
      redis.on('error', (error: Error) => logger?.debug({ err: error }, 'projector Redis connection error'));
      connections.push(redis);
      loops.push(
        consumeGroups({
          redis,
          stream: eventStreamName(aggregateType),
          groups: following.map((p) => p.name),
          consumer: options.consumer,
          signal: abort.signal,
          lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS,
          ...(logger ? { logger } : {}),
          ...(options.count !== undefined ? { count: options.count } : {}),
          ...(options.blockMs !== undefined ? { blockMs: options.blockMs } : {}),
          ...(options.claimIdleMs !== undefined ? { claimIdleMs: options.claimIdleMs } : {}),
          ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
          onResumed: recoverFromOutage,
          // Every projection's new entries of a round in one transaction: one commit, one invalidation.
          handle: async (batches) => {
            const work = following.map((projection) => ({
              projection,
              reached: latestVersions(batches.get(projection.name) ?? []),
            }));
            // An entry of an order's version 1 names its customer: the shard to read it on.
            const partitionKeys = new Map<string, string>();
            if (shards) {
              for (const e of [...batches.values()].flat()) {
                const key = partitionKeyOf({ aggregateType: e.aggregateType, type: e.eventType, payload: e.payload });
                if (key) partitionKeys.set(e.aggregateId, key);
              }
            }
            let begun: TagInvalidation | undefined;
            let applied: Map<string, number>;
            options.onTransaction?.();
            try {
              applied = await inTransaction(
                db,
                options.pool,
                async (tx) => {
                  const result = await applyUpToAll(tx, work, shards ? { shards, partitionKeys } : undefined);
                  if (cache && result.tags.length > 0) begun = await cache.beginInvalidation(result.tags);
                  return result.applied;
                },
                { maxWaitMs: 10_000, timeoutMs: 60_000 },
              );
            } finally {
              // Ended whether the transaction committed or not (as in catchUp).
              await begun?.end();
            }
            for (const [name, count] of applied) if (count > 0) metrics?.eventsApplied.inc({ projection: name }, count);
          },
        }),
      );
    }
  })();

  return {
    ready,
    async stop() {
      abort.abort();
      await ready.catch(() => undefined);
      await Promise.all(loops);
      await recovering;
      for (const redis of connections) redis.disconnect();
    },
  };
}
