import type { TagInvalidation, TagInvalidator } from '../cache';
import type { Database, Tx } from '../../platform/database';
import { applyBatch, lockProjectionExclusive, shadowTarget } from './apply';
import { countEvents, unappliedEvents, type EventRange } from './event-feed';
import {
  cacheTags,
  qualifiedTable,
  READ_MODELS_SCHEMA,
  REBUILD_SUFFIX,
  type Projection,
  type ProjectionContext,
} from './projection';
import { catchUp } from './runner';
import { eventsEverywhere, shardReads, type ShardEvents } from './shard-events';

/**
 * Rebuilds a read model from the event store while the old one keeps serving, then swaps.
 *
 * 1. Fresh shadow tables (`<table>__rebuild`, same columns, constraints and indexes) and shadow
 *    positions.
 * 2. A bulk pass over the event store in global order, in batches, into the shadow.
 * 3. A sweep for events that committed after the bulk pass went by their position (a transaction
 *    takes its position when it inserts, not when it commits).
 * 4. The swap, in one transaction holding the projection's lock exclusively (live appliers wait):
 *    a last sweep, the projection's `finishRebuild` (if any), then each shadow table takes its live table's name (and index names), the old
 *    one is dropped, and the shadow positions become the live ones. Readers see the old tables
 *    until the commit and the new ones after it, never a mix.
 *
 * Events the live projector receives afterwards are filtered by the new positions, so nothing is
 * applied twice and nothing applied before the swap is lost.
 *
 * With shards, the bulk pass and the sweep go over every shard's store as well. A shard's events
 * are not in the read database, so the swap's last sweep cannot be a join there; instead it
 * applies to the shadow whatever the live projector applied beyond the shadow's positions (read
 * where the events are), so the new tables are never behind the ones they replace.
 */

export interface RebuildProgress {
  phase: 'bulk' | 'sweep' | 'swap';
  applied: number;
  total: number;
}

export interface RebuildOptions {
  db: Database;
  projection: Projection;
  batchSize: number;
  /** Every entry the projection's tables served is invalidated around the swap's commit. */
  cache?: TagInvalidator;
  /** Rebuild from every shard's events too (the router's catalogue client is `db`). */
  shards?: ShardEvents;
  onProgress?: (progress: RebuildProgress) => void;
}

export interface RebuildResult {
  events: number;
  ms: number;
}

export class RebuildInProgressError extends Error {
  constructor(readonly projection: string) {
    super(`a rebuild of ${projection} is already running; wait for it to finish`);
    this.name = 'RebuildInProgressError';
  }
}

/**
 * One rebuild per projection at a time: a second one would drop the shadow tables under the first,
 * or apply the same events into them twice. The guard is an advisory lock held by a transaction
 * that stays open for the whole rebuild (the work itself runs on other connections).
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  return options.db.$transaction(
    async (guard) => {
      const [row] = await guard.$queryRawUnsafe<{ locked: boolean }[]>(
        `SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked`,
        `rebuild:${options.projection.name}`,
      );
      if (!row?.locked) throw new RebuildInProgressError(options.projection.name);
      return rebuildUnguarded(options);
    },
    { timeout: 24 * 3_600_000, maxWait: 30_000 },
  );
}

async function rebuildUnguarded(options: RebuildOptions): Promise<RebuildResult> {
  const { db, projection, batchSize } = options;
  const startedAt = performance.now();
  const target = shadowTarget(projection);
  await db.$transaction(async (tx) => {
    for (const table of projection.tables) {
      await tx.$executeRawUnsafe(`DROP TABLE IF EXISTS ${qualifiedTable(table, true)}`);
      await tx.$executeRawUnsafe(
        `CREATE TABLE ${qualifiedTable(table, true)} (LIKE ${qualifiedTable(table)} INCLUDING ALL)`,
      );
    }
    await tx.$executeRawUnsafe(
      `DELETE FROM read_models.projection_positions WHERE projection = $1`,
      target.positionsName,
    );
  });

  const { shards } = options;
  const stores = shards ? (await shards.router.databases()).filter((store) => store !== db) : [];
  let total = await countEvents(db, projection.aggregateTypes);
  for (const store of stores) total += await countEvents(store, projection.aggregateTypes);
  const report = (phase: RebuildProgress['phase'], applied: number) =>
    options.onProgress?.({ phase, applied, total: Math.max(total, applied) });
  report('bulk', 0);
  const everyShard = shards ? { shards } : {};
  const bulk = await catchUp({
    db,
    projection,
    target,
    batchSize,
    onProgress: (n) => report('bulk', n),
    ...everyShard,
  });
  const sweep = await catchUp({
    db,
    projection,
    target,
    batchSize,
    onProgress: (n) => report('sweep', bulk.applied + n),
    ...everyShard,
  });
  let applied = bulk.applied + sweep.applied;

  const everything = [cacheTags.projection(projection.name)];
  let begun: TagInvalidation | undefined;
  await db
    .$transaction(
      async (tx) => {
        await lockProjectionExclusive(tx, projection.name);
        for (;;) {
          const events = await unappliedEvents(tx, target.positionsName, projection.aggregateTypes, 0n, batchSize);
          if (events.length === 0) break;
          await applyBatch(tx, projection, events, target);
          applied += events.length;
        }
        if (shards && stores.length > 0) applied += await catchUpWithLive(tx, projection, shards);
        await projection.finishRebuild?.(shadowContext(tx, projection));
        for (const table of projection.tables) await swapTable(tx, table);
        await tx.$executeRawUnsafe(
          `DELETE FROM read_models.projection_positions WHERE projection = $1`,
          projection.name,
        );
        await tx.$executeRawUnsafe(
          `UPDATE read_models.projection_positions SET projection = $1 WHERE projection = $2`,
          projection.name,
          target.positionsName,
        );
        const ms = Math.round(performance.now() - startedAt);
        await tx.$executeRawUnsafe(
          `INSERT INTO read_models.projection_status (projection, events_applied, rebuilt_at, rebuild_events, rebuild_ms, last_applied_at)
         VALUES ($1, $2, clock_timestamp(), $2, $3, clock_timestamp())
         ON CONFLICT (projection) DO UPDATE SET events_applied = EXCLUDED.events_applied, rebuilt_at = EXCLUDED.rebuilt_at,
           rebuild_events = EXCLUDED.rebuild_events, rebuild_ms = EXCLUDED.rebuild_ms`,
          projection.name,
          applied,
          ms,
        );
        // Begun before the commit, ended after it: no entry of the old tables outlives the swap.
        if (options.cache) begun = await options.cache.beginInvalidation(everything);
      },
      { timeout: 600_000, maxWait: 60_000 },
    )
    .finally(() => begun?.end());
  report('swap', applied);
  return { events: applied, ms: Math.round(performance.now() - startedAt) };
}

/**
 * Applies to the shadow what the live projector applied beyond it (the shard events that committed
 * after the sweep passed them), read wherever they are stored. Runs in the swap's transaction,
 * where live appliers wait. Returns the number of events applied.
 */
async function catchUpWithLive(tx: Tx, projection: Projection, shards: ShardEvents): Promise<number> {
  const target = shadowTarget(projection);
  const behind = await tx.$queryRawUnsafe<(EventRange & { partition_key: string | null })[]>(
    `SELECT l.aggregate_id::text AS aggregate_id, COALESCE(s.version, 0) AS after, l.version AS upto,
       COALESCE(l.partition_key, s.partition_key) AS partition_key
     FROM read_models.projection_positions l
     LEFT JOIN read_models.projection_positions s ON s.projection = $2 AND s.aggregate_id = l.aggregate_id
     WHERE l.projection = $1 AND l.version > COALESCE(s.version, 0)`,
    projection.name,
    target.positionsName,
  );
  if (behind.length === 0) return 0;
  const keys = new Map<string, string>();
  for (const row of behind) if (row.partition_key !== null) keys.set(row.aggregate_id, row.partition_key);
  const ranges = behind.map(({ aggregate_id, after, upto }) => ({ aggregate_id, after, upto }));
  const events = await eventsEverywhere(shards, tx, ranges, keys);
  await applyBatch(tx, projection, events, target, shardReads(shards, tx, keys));
  return events.length;
}

/** What `finishRebuild` works with: the shadow tables of the projection, and only those. */
function shadowContext(tx: Tx, projection: Projection): ProjectionContext {
  return {
    tx,
    table: (name) => {
      if (!projection.tables.includes(name)) throw new Error(`${projection.name} does not own the table ${name}`);
      return qualifiedTable(name, true);
    },
    rebuilding: true,
  };
}

interface IndexRow {
  indexname: string;
  indexdef: string;
}

/** The shadow takes the live table's place and its index names (so the schema looks as migrated). */
async function swapTable(tx: Tx, table: string): Promise<void> {
  const shadow = `${table}${REBUILD_SUFFIX}`;
  const old = `${table}__old`;
  const liveIndexes = await indexesOf(tx, table);
  const shadowIndexes = await indexesOf(tx, shadow);
  await tx.$executeRawUnsafe(`ALTER TABLE ${READ_MODELS_SCHEMA}.${table} RENAME TO ${old}`);
  await tx.$executeRawUnsafe(`ALTER TABLE ${READ_MODELS_SCHEMA}.${shadow} RENAME TO ${table}`);
  await tx.$executeRawUnsafe(`DROP TABLE ${READ_MODELS_SCHEMA}.${old}`);
  for (const live of liveIndexes) {
    const match = shadowIndexes.find((s) => indexShape(s.indexdef) === indexShape(live.indexdef));
    if (match && match.indexname !== live.indexname) {
      await tx.$executeRawUnsafe(`ALTER INDEX ${READ_MODELS_SCHEMA}.${match.indexname} RENAME TO ${live.indexname}`);
    }
  }
}

async function indexesOf(tx: Tx, table: string): Promise<IndexRow[]> {
  return tx.$queryRawUnsafe<IndexRow[]>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname`,
    READ_MODELS_SCHEMA,
    table,
  );
}

/** An index definition without its own name and its table's: what makes two indexes the same. */
function indexShape(definition: string): string {
  return definition.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+/, 'CREATE $1INDEX ON');
}
