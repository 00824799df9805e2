import { eventsInRanges } from './event-feed';
import {
  qualifiedTable,
  REBUILD_SUFFIX,
  type ProjectedEvent,
  type Projection,
  type ProjectionContext,
  type Tx,
} from './projection';

/**
 * Applying events to a projection, once each: the bookkeeping every projection shares.
 *
 * `read_models.projection_positions` holds, per projection and aggregate, the last version applied.
 * It is written in the same transaction as the read model, so the two never disagree: an event at
 * or below it is skipped (a redelivered stream entry, or an event a rebuild applied before its
 * swap), and a later event first pulls the versions in between from the event store (a stream
 * that lost entries cannot leave a gap).
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
): Promise<string[]> {
  if (events.length === 0) return [];
  const ctx: ProjectionContext = {
    tx,
    table: (name) => {
      if (!projection.tables.includes(name)) throw new Error(`${projection.name} does not own the table ${name}`);
      return qualifiedTable(name, target.shadow);
    },
    rebuilding: target.shadow,
  };
  const tags = await projection.apply(events, ctx);

  const latest = new Map<string, number>();
  for (const event of events)
    latest.set(event.aggregateId, Math.max(latest.get(event.aggregateId) ?? 0, event.version));
  await tx.$executeRawUnsafe(
    `INSERT INTO read_models.projection_positions (projection, aggregate_id, version)
     SELECT $1, x.aggregate_id, x.version FROM jsonb_to_recordset($2::jsonb) AS x(aggregate_id uuid, version int)
     ON CONFLICT (projection, aggregate_id)
     DO UPDATE SET version = GREATEST(projection_positions.version, EXCLUDED.version)`,
    target.positionsName,
    JSON.stringify([...latest].map(([aggregate_id, version]) => ({ aggregate_id, version }))),
  );
  if (!target.shadow) {
    const lastEventAt = events.reduce((max, e) => (e.occurredAt > max ? e.occurredAt : max), events[0]!.occurredAt);
    await tx.$executeRawUnsafe(
      `INSERT INTO read_models.projection_status (projection, events_applied, last_event_at, last_applied_at)
       VALUES ($1, $2, $3, clock_timestamp())
       ON CONFLICT (projection) DO UPDATE SET
         events_applied = projection_status.events_applied + EXCLUDED.events_applied,
         last_event_at = GREATEST(projection_status.last_event_at, EXCLUDED.last_event_at),
         last_applied_at = EXCLUDED.last_applied_at`,
      projection.name,
      events.length,
      lastEventAt,
    );
  }
  return [...new Set(tags)];
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
  if (reached.size === 0) return { applied: 0, tags: [] };
  if (projection.serialized) await lockProjectionExclusive(tx, projection.name);
  else await lockProjectionShared(tx, projection.name);
  // Creates missing position rows and locks them, in id order so that concurrent appliers of
  // overlapping aggregates queue instead of deadlocking.
  const ids = [...reached.keys()].sort();
  const held = await tx.$queryRawUnsafe<{ aggregate_id: string; version: number }[]>(
    `INSERT INTO read_models.projection_positions (projection, aggregate_id, version)
     SELECT $1, id, 0 FROM unnest($2::uuid[]) AS id ORDER BY id
     ON CONFLICT (projection, aggregate_id) DO UPDATE SET version = projection_positions.version
     RETURNING aggregate_id::text, version`,
    projection.name,
    ids,
  );
  const ranges = held
    .map((row) => ({ aggregate_id: row.aggregate_id, after: row.version, upto: reached.get(row.aggregate_id) ?? 0 }))
    .filter((range) => range.upto > range.after);
  if (ranges.length === 0) return { applied: 0, tags: [] };
  const events = await eventsInRanges(tx, ranges);
  const tags = await applyBatch(tx, projection, events, liveTarget(projection));
  return { applied: events.length, tags };
}
