import { ReplyError, type Redis } from 'ioredis';
import type { Pool, PoolClient } from 'pg';
import type { Config } from './config';
import type { Logger } from './logger';

/**
 * The outbox relay: publishes committed `outbox_events` rows to Redis Streams and marks them
 * PUBLISHED. PostgreSQL is the source of truth; Redis may lose everything (it keeps nothing on
 * disk) and `shopflow outbox republish` refills it from here.
 *
 * One batch is one transaction: claim rows (row locks + per-aggregate advisory locks), XADD them,
 * mark them, commit. A relay killed anywhere before the commit leaves its rows PENDING; what it
 * already added to a stream is added again by the next relay, and consumers de-duplicate by event
 * id (lib/stream-consumer.ts). Delivery is at least once, never lost.
 */

export type RelaySettings = Config['relay'];

export interface OutboxRow {
  sequence: string;
  eventId: string;
  aggregateType: string;
  aggregateId: string;
  version: number;
  eventType: string;
  payload: unknown;
  stream: string;
  retryCount: number;
}

export interface BatchResult {
  claimed: number;
  published: number;
  /** Rows whose publish failed and that were scheduled for a retry or marked FAILED. */
  failed: number;
}

/**
 * The stream of an aggregate type: one stream per type, so a consumer reads one kind of aggregate
 * in order. Writers of outbox rows put this name in `outbox_events.stream`.
 */
export function eventStreamName(aggregateType: string): string {
  return `shopflow:events:${aggregateType}`;
}

/** The delay before attempt `retryCount + 1`: base, 2×base, 4×base …, at most an hour. */
export function backoffMs(baseMs: number, retryCount: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, retryCount - 1), 3_600_000);
}

/**
 * Claims the next batch in sequence order.
 *
 * Several relays may run at once, and an aggregate's events must reach its stream in version
 * order. Row locks alone do not give that: while relay A holds version 3 locked, relay B would
 * skip it and happily publish version 4. So a batch first takes a transaction-level advisory lock
 * per aggregate (`pg_try_advisory_xact_lock`, never waiting: an aggregate another relay holds is
 * simply skipped this round) and then claims only rows of aggregates it holds. An aggregate is one
 * relay's until that relay commits, so its versions go out in order even across relays, and
 * different aggregates still spread over the relays. The candidates are materialized first so the
 * lock function runs on a handful of aggregates, not on every row a plan happens to scan.
 *
 * A row waiting for its retry (next_attempt_at in the future) or FAILED blocks the later rows of
 * its aggregate: a consumer never sees version 5 before version 4.
 *
 * Rows re-read after the advisory lock are re-checked by FOR UPDATE against their newest version,
 * so a row another relay published in the meantime is not claimed again.
 */
const claimSql = `
WITH candidates AS MATERIALIZED (
  SELECT aggregate_id, min(sequence) AS first_sequence
  FROM outbox_events
  WHERE status = 'PENDING' AND next_attempt_at <= now()
  GROUP BY aggregate_id
  ORDER BY first_sequence
  LIMIT $1
), held AS MATERIALIZED (
  SELECT aggregate_id FROM candidates
  WHERE pg_try_advisory_xact_lock(hashtext('outbox:' || aggregate_id::text))
)
SELECT o.sequence::text AS sequence, o.event_id, o.aggregate_type, o.aggregate_id::text AS aggregate_id,
       o.version, o.event_type, o.payload, o.stream, o.retry_count
FROM outbox_events o
JOIN held h ON h.aggregate_id = o.aggregate_id
WHERE o.status = 'PENDING' AND o.next_attempt_at <= now()
  AND NOT EXISTS (
    SELECT 1 FROM outbox_events p
    WHERE p.aggregate_id = o.aggregate_id AND p.sequence < o.sequence
      AND (p.status = 'FAILED' OR (p.status = 'PENDING' AND p.next_attempt_at > now()))
  )
ORDER BY o.sequence
LIMIT $1
FOR UPDATE OF o SKIP LOCKED`;

interface ClaimedRecord {
  sequence: string;
  event_id: string;
  aggregate_type: string;
  aggregate_id: string;
  version: number;
  event_type: string;
  payload: unknown;
  stream: string;
  retry_count: number;
}

/** The fields of a stream entry; consumers parse them back with `parseStreamEntry`. */
export function streamFields(row: OutboxRow): string[] {
  return [
    'event_id',
    row.eventId,
    'aggregate_type',
    row.aggregateType,
    'aggregate_id',
    row.aggregateId,
    'version',
    String(row.version),
    'event_type',
    row.eventType,
    'payload',
    JSON.stringify(row.payload),
    'sequence',
    row.sequence,
  ];
}

export interface OutboxRelayDeps {
  pool: Pool;
  redis: Redis;
  settings: RelaySettings;
  logger: Logger;
}

/**
 * Publishes one batch. Returns what it did; throws when Redis or PostgreSQL is unreachable (the
 * transaction is rolled back, the rows stay PENDING and no attempt is counted against them).
 */
export async function publishBatch(deps: OutboxRelayDeps): Promise<BatchResult> {
  const client = await deps.pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<ClaimedRecord>(claimSql, [deps.settings.batchSize]);
    if (rows.length === 0) {
      await client.query('COMMIT');
      return { claimed: 0, published: 0, failed: 0 };
    }
    const outcome = await publishInAggregateOrder(deps, rows.map(toRow));
    await markOutcome(client, deps.settings, outcome);
    await client.query('COMMIT');
    return { claimed: rows.length, published: outcome.published.length, failed: outcome.failed.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function toRow(r: ClaimedRecord): OutboxRow {
  return {
    sequence: r.sequence,
    eventId: r.event_id,
    aggregateType: r.aggregate_type,
    aggregateId: r.aggregate_id,
    version: r.version,
    eventType: r.event_type,
    payload: r.payload,
    stream: r.stream,
    retryCount: r.retry_count,
  };
}

interface PublishOutcome {
  published: OutboxRow[];
  failed: { row: OutboxRow; error: string }[];
}

/**
 * Aggregates are published in parallel (ioredis pipelines the commands on one connection); the
 * events of one aggregate one after the other, stopping at the first that Redis refuses, so a
 * later version never overtakes a failed one. A connection failure aborts the whole batch.
 */
async function publishInAggregateOrder(deps: OutboxRelayDeps, rows: OutboxRow[]): Promise<PublishOutcome> {
  const byAggregate = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const list = byAggregate.get(row.aggregateId) ?? [];
    list.push(row);
    byAggregate.set(row.aggregateId, list);
  }
  const outcome: PublishOutcome = { published: [], failed: [] };
  await Promise.all(
    [...byAggregate.values()].map(async (events) => {
      for (const row of events) {
        try {
          await deps.redis.xadd(row.stream, 'MAXLEN', '~', deps.settings.streamMaxLen, '*', ...streamFields(row));
          outcome.published.push(row);
        } catch (error) {
          if (!(error instanceof ReplyError)) throw error;
          outcome.failed.push({ row, error: (error as Error).message });
          // The rest of this aggregate stays PENDING behind the failed row (see claimSql).
          return;
        }
      }
    }),
  );
  return outcome;
}

async function markOutcome(client: PoolClient, settings: RelaySettings, outcome: PublishOutcome): Promise<void> {
  if (outcome.published.length > 0) {
    await client.query(
      `UPDATE outbox_events SET status = 'PUBLISHED', published_at = now(), last_error = NULL
       WHERE sequence = ANY($1::bigint[])`,
      [outcome.published.map((r) => r.sequence)],
    );
  }
  for (const { row, error } of outcome.failed) {
    const attempts = row.retryCount + 1;
    const status = attempts >= settings.maxAttempts ? 'FAILED' : 'PENDING';
    await client.query(
      `UPDATE outbox_events
       SET retry_count = $2, status = $3, last_error = $4,
           next_attempt_at = now() + make_interval(secs => $5::double precision / 1000)
       WHERE sequence = $1`,
      [row.sequence, attempts, status, error.slice(0, 2000), backoffMs(settings.backoffBaseMs, attempts)],
    );
  }
}

/** Deletes published rows older than the retention, in chunks; domain_events keeps every event. */
export async function deleteExpiredPublished(pool: Pool, retentionMs: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await pool.query(
      `DELETE FROM outbox_events WHERE sequence IN (
         SELECT sequence FROM outbox_events
         WHERE status = 'PUBLISHED' AND published_at < now() - make_interval(secs => $1::double precision / 1000)
         LIMIT 5000)`,
      [retentionMs],
    );
    deleted += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < 5000) return deleted;
  }
}

/** `shopflow outbox retry-failed`: FAILED rows become PENDING with a fresh attempt count. */
export async function retryFailed(pool: Pool): Promise<number> {
  const result = await pool.query(
    `UPDATE outbox_events SET status = 'PENDING', retry_count = 0, next_attempt_at = now()
     WHERE status = 'FAILED'`,
  );
  return result.rowCount ?? 0;
}

/**
 * `shopflow outbox republish --from-sequence N`: every row from N on is published again (rows
 * still PENDING keep their place). For refilling Redis after it lost its streams; consumers
 * de-duplicate what they had already handled.
 */
export async function republishFrom(pool: Pool, fromSequence: bigint): Promise<number> {
  const result = await pool.query(
    `UPDATE outbox_events
     SET status = 'PENDING', retry_count = 0, next_attempt_at = now(), published_at = NULL, last_error = NULL
     WHERE sequence >= $1 AND status <> 'PENDING'`,
    [fromSequence.toString()],
  );
  return result.rowCount ?? 0;
}

export interface OutboxCounts {
  pending: number;
  published: number;
  failed: number;
}

export async function outboxCounts(pool: Pool): Promise<OutboxCounts> {
  const { rows } = await pool.query<{ status: string; count: string }>(
    'SELECT status, count(*)::text AS count FROM outbox_events GROUP BY status',
  );
  const count = (status: string) => Number(rows.find((r) => r.status === status)?.count ?? 0);
  return { pending: count('PENDING'), published: count('PUBLISHED'), failed: count('FAILED') };
}
