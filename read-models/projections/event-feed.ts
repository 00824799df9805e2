import type { ProjectedEvent } from './projection';
import type { Tx } from '../../platform/database';

/** A transaction or a database client: events are immutable, so a shard's are read outside any transaction. */
export type EventReader = Pick<Tx, '$queryRawUnsafe'>;

/** Each aggregate's highest version among `events`: how far they take it. */
export function latestVersions(events: Iterable<{ aggregateId: string; version: number }>): Map<string, number> {
  const latest = new Map<string, number>();
  for (const { aggregateId, version } of events)
    latest.set(aggregateId, Math.max(latest.get(aggregateId) ?? 0, version));
  return latest;
}

/** An aggregate's versions in (after, upto]. */
export interface EventRange {
  aggregate_id: string;
  after: number;
  upto: number;
}

/**
 * Reading the event store for projections. Every projection reads events here, live and in
 * rebuilds, so what a projection sees does not depend on how it was fed: the stream entry only
 * says "this aggregate has news"; the events themselves, with their time and global position,
 * come from `domain_events`, the source of truth.
 */

interface EventRow {
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  version: number;
  event_type: string;
  payload: unknown;
  occurred_at: Date;
  position: bigint;
}

const columns = `e.id::text AS id, e.aggregate_type, e.aggregate_id::text AS aggregate_id, e.version, e.event_type,
  e.payload, e.occurred_at, e.position`;

function projected(row: EventRow): ProjectedEvent {
  return {
    eventId: row.id,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    version: row.version,
    type: row.event_type,
    payload: row.payload,
    occurredAt: row.occurred_at,
    position: BigInt(row.position),
  };
}

/** One aggregate's events in (afterVersion, upToVersion], in version order. */
export async function aggregateEvents(
  tx: EventReader,
  aggregateId: string,
  afterVersion: number,
  upToVersion: number,
): Promise<ProjectedEvent[]> {
  const rows = await tx.$queryRawUnsafe<EventRow[]>(
    `SELECT ${columns} FROM domain_events e
     WHERE e.aggregate_id = $1::uuid AND e.version > $2 AND e.version <= $3
     ORDER BY e.version`,
    aggregateId,
    afterVersion,
    upToVersion,
  );
  return rows.map(projected);
}

/** Events of several aggregates, each in (after, upto], in global order (so each in version order). */
export async function eventsInRanges(tx: EventReader, ranges: readonly EventRange[]): Promise<ProjectedEvent[]> {
  const rows = await tx.$queryRawUnsafe<EventRow[]>(
    `SELECT ${columns} FROM jsonb_to_recordset($1::jsonb) AS r(aggregate_id uuid, after int, upto int)
     JOIN domain_events e ON e.aggregate_id = r.aggregate_id AND e.version > r.after AND e.version <= r.upto
     ORDER BY e.position`,
    JSON.stringify(ranges),
  );
  return rows.map(projected);
}

/**
 * The next batch of events a projection has not applied, in global position order, after
 * `afterPosition`: events of its aggregate types above the version it holds for their aggregate
 * (positions kept under `positionsName`).
 *
 * A position is taken when an event is inserted, not when it commits, so a cursor can pass an
 * event that commits later (v2 still uncommitted when the batch read past its position, while v3
 * comes in a later batch). Each aggregate's first event in the batch is therefore checked against
 * the version the projection holds, and versions in between are read from the store and put in
 * front: a batch never applies a version without the ones before it.
 */
export async function unappliedEvents(
  tx: Tx,
  positionsName: string,
  aggregateTypes: readonly string[],
  afterPosition: bigint,
  limit: number,
): Promise<ProjectedEvent[]> {
  const rows = await tx.$queryRawUnsafe<(EventRow & { applied: number })[]>(
    `SELECT ${columns}, COALESCE(p.version, 0) AS applied FROM domain_events e
     LEFT JOIN read_models.projection_positions p ON p.projection = $1 AND p.aggregate_id = e.aggregate_id
     WHERE e.aggregate_type = ANY($2::text[]) AND e.position > $3 AND e.version > COALESCE(p.version, 0)
     ORDER BY e.position
     LIMIT $4`,
    positionsName,
    [...aggregateTypes],
    afterPosition,
    limit,
  );
  const events: ProjectedEvent[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (!seen.has(row.aggregate_id)) {
      seen.add(row.aggregate_id);
      if (row.version > row.applied + 1) {
        events.push(...(await aggregateEvents(tx, row.aggregate_id, row.applied, row.version - 1)));
      }
    }
    events.push(projected(row));
  }
  return events;
}

/** How many events of these aggregate types the store holds after `afterPosition` (for progress bars). */
export async function countEvents(
  tx: EventReader,
  aggregateTypes: readonly string[],
  afterPosition = 0n,
): Promise<number> {
  const [row] = await tx.$queryRawUnsafe<{ n: bigint }[]>(
    `SELECT count(*) AS n FROM domain_events WHERE aggregate_type = ANY($1::text[]) AND position > $2`,
    [...aggregateTypes],
    afterPosition,
  );
  return Number(row?.n ?? 0);
}

/** An event's place without its payload. */
export interface EventMark {
  aggregateId: string;
  version: number;
  position: bigint;
}

/**
 * The (aggregate, version, position) of a store's events of these types after `afterPosition`, in
 * position order, without payloads: what a catch-up over a shard compares with the read database's
 * positions (in another database, so no join) before reading only the events it lacks.
 */
export async function eventMarks(
  reader: EventReader,
  aggregateTypes: readonly string[],
  afterPosition: bigint,
  limit: number,
): Promise<EventMark[]> {
  const rows = await reader.$queryRawUnsafe<{ aggregate_id: string; version: number; position: bigint }[]>(
    `SELECT aggregate_id::text AS aggregate_id, version, position FROM domain_events
     WHERE aggregate_type = ANY($1::text[]) AND position > $2
     ORDER BY position
     LIMIT $3`,
    [...aggregateTypes],
    afterPosition,
    limit,
  );
  return rows.map((r) => ({ aggregateId: r.aggregate_id, version: r.version, position: BigInt(r.position) }));
}
