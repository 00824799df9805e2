import type { RedisClient } from '../../platform/redis';
import type { Database } from '../../platform/database';
import { eventStreamName } from '../../events/outbox-relay';
import type { Projection } from './projection';

/**
 * How far a projection is behind the event store, in events and in time. An event a projection has
 * not applied is in one of three places: an outbox row the relay has not published yet, a stream
 * entry not yet delivered to the projection's consumer group (XINFO GROUPS `lag`), or an entry
 * delivered but not acknowledged (`pending`). The time lag is the age of the oldest of them: a
 * stream entry id starts with the millisecond Redis added it.
 */

export interface ProjectionLag {
  projection: string;
  events: number;
  /** Age of the oldest unapplied event; 0 when caught up. */
  seconds: number;
}

/**
 * The lag of each projection. Projections share streams (every one of them follows orders), so
 * the outbox is counted once per stream for all of them: readiness probes and scrapes call this.
 */
export async function measureLags(
  db: Database,
  redis: RedisClient,
  projections: readonly Projection[],
  now = Date.now(),
): Promise<ProjectionLag[]> {
  const streams = [...new Set(projections.flatMap((p) => p.aggregateTypes.map(eventStreamName)))];
  const outbox = await db.$queryRawUnsafe<{ stream: string; n: number; oldest: Date | null }[]>(
    // FAILED rows count: the projection never gets them until an operator retries them. Naming
    // the statuses lets the partial index over unpublished rows skip the published ones.
    `SELECT stream, count(*)::int AS n, min(created_at) AS oldest FROM outbox_events
     WHERE status IN ('PENDING', 'FAILED') AND stream = ANY($1::text[])
     GROUP BY stream`,
    streams,
  );
  const unpublished = new Map(outbox.map((row) => [row.stream, row]));
  return Promise.all(
    projections.map(async (projection) => {
      let events = 0;
      let oldest = Number.POSITIVE_INFINITY;
      for (const stream of projection.aggregateTypes.map(eventStreamName)) {
        const waiting = unpublished.get(stream);
        events += waiting?.n ?? 0;
        if (waiting?.oldest) oldest = Math.min(oldest, waiting.oldest.getTime());
        const behind = await streamLag(redis, stream, projection.name);
        events += behind.events;
        oldest = Math.min(oldest, behind.oldestMs);
      }
      return {
        projection: projection.name,
        events,
        seconds: events === 0 || !Number.isFinite(oldest) ? 0 : Math.max(0, (now - oldest) / 1000),
      };
    }),
  );
}

async function streamLag(
  redis: RedisClient,
  stream: string,
  group: string,
): Promise<{ events: number; oldestMs: number }> {
  if ((await redis.exists(stream)) === 0) return { events: 0, oldestMs: Number.POSITIVE_INFINITY };
  const groups = ((await redis.xinfo('GROUPS', stream)) as unknown[][]).map(fieldsOf);
  const info = groups.find((g) => g['name'] === group);
  if (!info) {
    // The projector never read this stream: everything in it is ahead of it.
    const length = await redis.xlen(stream);
    const first = (await redis.xrange(stream, '-', '+', 'COUNT', 1))[0];
    return { events: length, oldestMs: first ? entryMs(first[0]) : Number.POSITIVE_INFINITY };
  }
  const pending = Number(info['pending'] ?? 0);
  const lastDelivered = typeof info['last-delivered-id'] === 'string' ? info['last-delivered-id'] : '0-0';
  const next = (await redis.xrange(stream, `(${lastDelivered}`, '+', 'COUNT', 1))[0];
  // `lag` is null when Redis cannot tell (entries deleted mid-stream): count what follows instead.
  const undelivered =
    info['lag'] === null || info['lag'] === undefined
      ? (await redis.xrange(stream, `(${lastDelivered}`, '+')).length
      : Number(info['lag']);
  let oldestMs = next ? entryMs(next[0]) : Number.POSITIVE_INFINITY;
  if (pending > 0) {
    const [, smallest] = (await redis.xpending(stream, group)) as [number, string | null, string | null, unknown];
    if (smallest) oldestMs = Math.min(oldestMs, entryMs(smallest));
  }
  return { events: undelivered + pending, oldestMs };
}

/** A Redis reply of alternating names and values (XINFO) as a record. */
export function fieldsOf(flat: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1];
  return record;
}

function entryMs(entryId: string): number {
  return Number(entryId.split('-')[0]);
}
