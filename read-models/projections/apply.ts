import { eventsInRanges, latestVersions } from './event-feed';
import {
  qualifiedTable,
  REBUILD_SUFFIX,
  type ProjectedEvent,
  type Projection,
  type ProjectionContext,
  type ShardReads,
} from './projection';
import { completeFromShards, partitionKeysOf, shardReads, type ShardEvents } from './shard-events';
import type { Tx } from '../../platform/database';

/**
 * Applying events to a projection, once each: the bookkeeping every projection shares.
 *
 * `read_models.projection_positions` holds, per projection and aggregate, the last version applied.
 * It is written in the same transaction as the read model, so the two never disagree: an event at
 * or below it is skipped (a redelivered stream entry, or an event a rebuild applied before its
 * swap), and a later event first pulls the versions in between from the event store (a stream
 * that lost entries cannot leave a gap). It also remembers each aggregate's partition key once an
 * event named it (an order's OrderPlaced), for a projector that reads events on shards.
 *
 * Live appliers hold the projection's advisory lock shared; a rebuild's swap takes it exclusive,
 * so a swap never interleaves with a live transaction on the old tables.
 */

/** Where a batch goes: the live tables, or a rebuild's shadow tables with positions of their own. */
export interface ApplyTarget {
  positionsName: string;
  shadow: boolean;
}

export function liveTarget(projection: Pick<Projection, 'name'>): ApplyTarget {
  return { positionsName: projection.name, shadow: false };
}

export function shadowTarget(projection: Pick<Projection, 'name'>): ApplyTarget {
  return { positionsName: `${projection.name}${REBUILD_SUFFIX}`, shadow: true };
}

/** The advisory lock key of a projection (live appliers share it; a swap holds it alone). */
export function projectionLockKey(name: string): string {
  return `projection:${name}`;
}

export async function lockProjectionShared(tx: Tx, name: string): Promise<void> {
  await tx.$queryRawUnsafe(`SELECT pg_advisory_xact_lock_shared(hashtext($1))::text`, projectionLockKey(name));
}

/**
 * For appliers that decide what to apply from positions they read without locking them (catch-up,
 * a rebuild's swap): no live applier may commit in between.
 */
export async function lockProjectionExclusive(tx: Tx, name: string): Promise<void> {
  await tx.$queryRawUnsafe(`SELECT pg_advisory_xact_lock(hashtext($1))::text`, projectionLockKey(name));
}

/**
 * Applies events the caller has already filtered (each aggregate's in version order, none applied
 * before) and records how far each aggregate got. Live targets also count the events in
 * `projection_status`. Returns the projection's cache tags.
 */
export async function applyBatch(
  tx: Tx,
  projection: Projection,
  events: readonly ProjectedEvent[],
  target: ApplyTarget,
  shards?: ShardReads,
): Promise<string[]> {
  if (events.length === 0) return [];
  const tags = await applyEvents(tx, projection, events, target, shards);

  const latest = latestVersions(events);
  const keys = partitionKeysOf(events);
  await tx.$executeRawUnsafe(
    `INSERT INTO read_models.projection_positions (projection, aggregate_id, version, partition_key)
     SELECT $1, x.aggregate_id, x.version, x.partition_key
     FROM jsonb_to_recordset($2::jsonb) AS x(aggregate_id uuid, version int, partition_key text)
     ON CONFLICT (projection, aggregate_id)
     DO UPDATE SET version = GREATEST(projection_positions.version, EXCLUDED.version),
       partition_key = COALESCE(projection_positions.partition_key, EXCLUDED.partition_key)`,
    target.positionsName,
    JSON.stringify(
      [...latest].map(([aggregate_id, version]) => ({
        aggregate_id,
        version,
        partition_key: keys.get(aggregate_id) ?? null,
      })),
    ),
  );
  if (!target.shadow) {
    await tx.$executeRawUnsafe(
      `INSERT INTO read_models.projection_status (projection, events_applied, last_event_at, last_applied_at)
       VALUES ($1, $2, $3, clock_timestamp())
       ON CONFLICT (projection) DO UPDATE SET
         events_applied = projection_status.events_applied + EXCLUDED.events_applied,
         last_event_at = GREATEST(projection_status.last_event_at, EXCLUDED.last_event_at),
         last_applied_at = EXCLUDED.last_applied_at`,
      projection.name,
      events.length,
      lastEventAt(events),
    );
  }
  return tags;
}

/** The projection's own work on a batch (no bookkeeping); its cache tags, each once. */
async function applyEvents(
  tx: Tx,
  projection: Projection,
  events: readonly ProjectedEvent[],
  target: ApplyTarget,
  shards: ShardReads | undefined,
): Promise<string[]> {
  const ctx: ProjectionContext = {
    tx,
    table: (name) => {
      if (!projection.tables.includes(name)) throw new Error(`${projection.name} does not own the table ${name}`);
      return qualifiedTable(name, target.shadow);
    },
    rebuilding: target.shadow,
    ...(shards ? { shards } : {}),
  };
  return [...new Set(await projection.apply(events, ctx))];
}

/** A SQL string literal (standard_conforming_strings, PostgreSQL's default: only quotes are doubled). */
function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function lastEventAt(events: readonly ProjectedEvent[]): Date {
  return events.reduce((max, e) => (e.occurredAt > max ? e.occurredAt : max), events[0]!.occurredAt);
}

/**
 * Live: stream entries say each aggregate reached a version. Applies, in one go, whatever the
 * projection has not applied of those aggregates up to there, read from the event store (usually
 * just those events; more after lost entries; none for a redelivery).
 */
export async function applyUpTo(
  tx: Tx,
  projection: Projection,
  reached: ReadonlyMap<string, number>,
): Promise<{ applied: number; tags: string[] }> {
  const { applied, tags } = await applyUpToAll(tx, [{ projection, reached }]);
  return { applied: applied.get(projection.name) ?? 0, tags };
}

/** What one stream read says for one projection: the version each aggregate reached. */
export interface ProjectionReach {
  projection: Projection;
  reached: ReadonlyMap<string, number>;
}

/** For a projector that reads every shard's events: the shards, and the partition keys the round's entries named. */
export interface ShardedReach {
  shards: ShardEvents;
  partitionKeys: ReadonlyMap<string, string>;
}

/**
 * `applyUpTo` for several projections in one transaction (those following one stream): one
 * statement takes their locks, one creates and locks their position rows, one reads the events
 * all of them need; then each applies its share. With `sharded`, events the read database does
 * not hold whole are then read on their shards (shard-events.ts): one query per shard that holds
 * some, none when the read database held them all. Callers pass the projections in one fixed order
 * (the projector's list): locks are taken in that order, position rows in (that order, id), so
 * concurrent appliers queue instead of deadlocking. Returns events applied per projection and the
 * cache tags of all of them.
 */
export async function applyUpToAll(
  tx: Tx,
  work: readonly ProjectionReach[],
  sharded?: ShardedReach,
): Promise<{ applied: Map<string, number>; tags: string[] }> {
  const applied = new Map<string, number>();
  const todo = work.filter((w) => w.reached.size > 0);
  if (todo.length === 0) return { applied, tags: [] };
  // Serialized projections exclusively, the others shared (see Projection.serialized). Without
  // parameters, so that a pg transaction sends it together with its BEGIN (read-models/projections/sql.ts).
  await tx.$queryRawUnsafe(
    `SELECT ${todo
      .map(
        (w, i) =>
          `${w.projection.serialized ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}(hashtext(${sqlString(projectionLockKey(w.projection.name))}))::text AS l${i}`,
      )
      .join(', ')}`,
  );
  const wanted = todo.flatMap((w, order) =>
    [...w.reached.keys()].map((aggregate_id) => ({ projection: w.projection.name, order, aggregate_id })),
  );
  const held = await tx.$queryRawUnsafe<
    { projection: string; aggregate_id: string; version: number; partition_key: string | null }[]
  >(
    `INSERT INTO read_models.projection_positions (projection, aggregate_id, version)
     SELECT x.projection, x.aggregate_id, 0 FROM jsonb_to_recordset($1::jsonb) AS x(projection text, "order" int, aggregate_id uuid)
     ORDER BY x."order", x.aggregate_id
     ON CONFLICT (projection, aggregate_id) DO UPDATE SET version = projection_positions.version
     RETURNING projection, aggregate_id::text, version, partition_key`,
    JSON.stringify(wanted),
  );
  // Where each aggregate's events are: what the entries named, what the positions remember, and
  // (below) what the events read now name.
  const keys = new Map(sharded?.partitionKeys);
  const heldBy = new Map<string, Map<string, number>>();
  for (const row of held) {
    if (row.partition_key !== null) keys.set(row.aggregate_id, row.partition_key);
    const versions = heldBy.get(row.projection) ?? new Map<string, number>();
    versions.set(row.aggregate_id, row.version);
    heldBy.set(row.projection, versions);
  }
  // Per projection, the versions it lacks; read once for all of them (their union per aggregate).
  const lacking = new Map<string, Map<string, { after: number; upto: number }>>();
  const union = new Map<string, { after: number; upto: number }>();
  for (const { projection, reached } of todo) {
    const ranges = new Map<string, { after: number; upto: number }>();
    for (const [aggregateId, version] of heldBy.get(projection.name) ?? []) {
      const upto = reached.get(aggregateId) ?? 0;
      if (upto <= version) continue;
      ranges.set(aggregateId, { after: version, upto });
      const all = union.get(aggregateId);
      union.set(
        aggregateId,
        all ? { after: Math.min(all.after, version), upto: Math.max(all.upto, upto) } : { after: version, upto },
      );
    }
    lacking.set(projection.name, ranges);
  }
  if (union.size === 0) return { applied, tags: [] };
  const ranges = [...union].map(([aggregate_id, range]) => ({ aggregate_id, ...range }));
  const local = await eventsInRanges(tx, ranges);
  const { events, fromShards } = sharded
    ? await completeFromShards(sharded.shards, ranges, local, keys)
    : { events: local, fromShards: false };
  for (const [aggregateId, key] of partitionKeysOf(events)) keys.set(aggregateId, key);
  // Projections read more on shards only for rounds that had events there: a round the read
  // database held whole runs exactly as with one database.
  const reads = fromShards ? shardReads(sharded!.shards, tx, keys) : undefined;
  const tags = new Set<string>();
  const positions: { projection: string; aggregate_id: string; version: number; partition_key: string | null }[] = [];
  const statuses: { projection: string; events: number; last_event_at: Date }[] = [];
  for (const { projection } of todo) {
    const ranges = lacking.get(projection.name)!;
    const mine = events.filter((e) => {
      const range = ranges.get(e.aggregateId);
      return range !== undefined && e.version > range.after && e.version <= range.upto;
    });
    if (mine.length === 0) continue;
    for (const tag of await applyEvents(tx, projection, mine, liveTarget(projection), reads)) tags.add(tag);
    applied.set(projection.name, mine.length);
    for (const [aggregate_id, version] of latestVersions(mine))
      positions.push({
        projection: projection.name,
        aggregate_id,
        version,
        partition_key: keys.get(aggregate_id) ?? null,
      });
    statuses.push({ projection: projection.name, events: mine.length, last_event_at: lastEventAt(mine) });
  }
  if (statuses.length > 0) {
    // Every projection's bookkeeping in one statement (as applyBatch's two per projection). The
    // position rows exist and are locked since the start of this transaction.
    await tx.$executeRawUnsafe(
      `WITH positions AS (
         UPDATE read_models.projection_positions p SET version = GREATEST(p.version, x.version),
           partition_key = COALESCE(p.partition_key, x.partition_key)
         FROM jsonb_to_recordset($1::jsonb) AS x(projection text, aggregate_id uuid, version int, partition_key text)
         WHERE p.projection = x.projection AND p.aggregate_id = x.aggregate_id
         RETURNING 1
       )
       INSERT INTO read_models.projection_status (projection, events_applied, last_event_at, last_applied_at)
       SELECT s.projection, s.events, s.last_event_at, clock_timestamp()
       FROM jsonb_to_recordset($2::jsonb) AS s(projection text, events int, last_event_at timestamptz)
       ON CONFLICT (projection) DO UPDATE SET
         events_applied = projection_status.events_applied + EXCLUDED.events_applied,
         last_event_at = GREATEST(projection_status.last_event_at, EXCLUDED.last_event_at),
         last_applied_at = EXCLUDED.last_applied_at`,
      JSON.stringify(positions),
      JSON.stringify(statuses),
    );
  }
  return { applied, tags: [...tags] };
}
