import { createHash } from 'node:crypto';
import { ReplyError } from 'ioredis';
import type { Pool, PoolClient, QueryResult } from 'pg';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { RedisClient } from '../platform/redis';

/**
 * The outbox relay: publishes committed `outbox_events` rows to Redis Streams and marks them
 * PUBLISHED. PostgreSQL is the source of truth; Redis may lose everything (it keeps nothing on
 * disk) and `shopflow outbox republish` refills it from here.
 *
 * One batch is one transaction: claim rows (per-aggregate advisory locks, then row locks), XADD
 * them, mark them, commit. A relay killed anywhere before the commit leaves its rows PENDING;
 * what it already added to a stream is added again by the next relay, and consumers de-duplicate
 * by event id (events/stream-consumer.ts). Delivery is at least once, never lost.
 *
 * A batch costs three round trips however many rows it moves: one to PostgreSQL to begin and
 * claim, one to Redis (a script call per stream, sent together), one to PostgreSQL to mark and commit (a fourth only when some
 * publish was refused).
 *
 * The batch's commit does not wait for its WAL to reach the disk (`synchronous_commit = off`, for
 * this transaction only). The outbox rows themselves were committed durably by their writers;
 * what a crash of PostgreSQL can lose here is only the last batches' PUBLISHED marks (WAL is
 * flushed in order, so always the latest ones), whose rows are then published again: duplicates,
 * which consumers absorb, as after a relay killed before its commit. Nothing is lost, and an
 * aggregate's entries still reach its stream in order first.
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
  /** The claimed rows' outbox sequences (as text: bigint), in order. */
  sequences: string[];
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

/** The transaction-local settings through which the claim's first statement hands its aggregates to the second … */
const HELD_SETTING = 'shopflow.outbox_held';
/** … and the last sequence of its window: the claim looks no further. */
const UPTO_SETTING = 'shopflow.outbox_upto';

/**
 * Claims the next batch in sequence order: one round trip of three statements (BEGIN, lock,
 * claim), sent as one simple query; `limit` is a validated whole number, so it is inlined.
 *
 * Several relays may run at once, and an aggregate's events must reach its stream in version
 * order. Row locks alone do not give that: while relay A holds version 3 locked, relay B would
 * skip it and happily publish version 4. So a batch first takes a transaction-level advisory lock
 * per aggregate (`pg_try_advisory_xact_lock`, never waiting: an aggregate another relay holds is
 * simply skipped this round) and then claims only rows of aggregates it holds. An aggregate is one
 * relay's until that relay commits, so its versions go out in order even across relays, and
 * different aggregates still spread over the relays.
 *
 * 1. Lock: the first `limit` ready PENDING rows in sequence order, through the partial index of
 *    unpublished rows, so published rows are never read; passing over the rows of aggregates whose
 *    first unpublished row (one index probe) is FAILED or waiting for its retry, so that however
 *    many rows wait behind such an aggregate, the others still go out. Their aggregates are
 *    materialized first so the lock function runs on those only, not on every row a plan happens
 *    to scan; the aggregates locked, and the window's last sequence, go into transaction-local
 *    settings.
 * 2. Claim: a new statement, so a new snapshot, taken after the locks: whatever the aggregates'
 *    previous holder committed is seen (a single statement would still see its rows as they were
 *    when the statement began, and could claim version 2 of an aggregate whose version 1 was just
 *    scheduled for a retry). The unpublished rows of the held aggregates in sequence order, at most
 *    `limit` and none past the window, each aggregate cut before its first row that is FAILED or waiting for its retry: a
 *    consumer never sees version 5 before version 4. What is claimed is so, per aggregate, an
 *    unbroken run from its first unpublished row on. The rows are locked too (FOR UPDATE, waiting:
 *    under the aggregate's advisory lock only an operator's `shopflow outbox` command could hold
 *    one, and skipping it would break the run); the re-check of FOR UPDATE keeps a row an operator
 *    just changed from being claimed as it was.
 */
function claimSql(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`batch size must be a whole number ≥ 1, not ${limit}`);
  return `BEGIN ISOLATION LEVEL READ COMMITTED;
SET LOCAL synchronous_commit = off;
WITH window_rows AS MATERIALIZED (
  SELECT o.aggregate_id, o.sequence FROM outbox_events o
  WHERE o.status IN ('PENDING', 'FAILED') AND o.status = 'PENDING' AND o.next_attempt_at <= now()
    AND NOT EXISTS (
      SELECT 1 FROM (
        SELECT h.status, h.next_attempt_at FROM outbox_events h
        WHERE h.status IN ('PENDING', 'FAILED') AND h.aggregate_id = o.aggregate_id
        ORDER BY h.sequence
        LIMIT 1
      ) head
      WHERE head.status = 'FAILED' OR head.next_attempt_at > now()
    )
  ORDER BY o.sequence
  LIMIT ${limit}
), held AS MATERIALIZED (
  SELECT aggregate_id FROM (SELECT DISTINCT aggregate_id FROM window_rows) candidates
  WHERE pg_try_advisory_xact_lock(hashtext('outbox:' || aggregate_id::text))
)
SELECT set_config('${HELD_SETTING}', coalesce((SELECT array_agg(aggregate_id)::text FROM held), '{}'), true),
       set_config('${UPTO_SETTING}', coalesce((SELECT max(sequence)::text FROM window_rows), '0'), true);
WITH run AS MATERIALIZED (
  SELECT sequence, aggregate_id, status = 'PENDING' AND next_attempt_at <= now() AS ready
  FROM outbox_events
  WHERE status IN ('PENDING', 'FAILED')
    AND sequence <= (SELECT current_setting('${UPTO_SETTING}')::bigint)
    AND aggregate_id = ANY (ARRAY(SELECT unnest(current_setting('${HELD_SETTING}')::uuid[])))
  ORDER BY sequence
  LIMIT ${limit}
), claimable AS MATERIALIZED (
  SELECT sequence FROM (
    SELECT sequence, bool_and(ready) OVER (PARTITION BY aggregate_id ORDER BY sequence) AS unblocked FROM run
  ) r
  WHERE unblocked
)
SELECT o.sequence::text AS sequence, o.event_id, o.aggregate_type, o.aggregate_id::text AS aggregate_id,
       o.version, o.event_type, o.payload, o.stream, o.retry_count
FROM outbox_events o
WHERE o.sequence IN (SELECT sequence FROM claimable) AND o.status = 'PENDING' AND o.next_attempt_at <= now()
ORDER BY o.sequence
FOR UPDATE OF o`;
}

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
  redis: RedisClient;
  settings: RelaySettings;
  logger: Logger;
}

/**
 * Publishes one batch. Returns what it did; throws when Redis or PostgreSQL is unreachable (the
 * transaction is rolled back, the rows stay PENDING and no attempt is counted against them).
 */
export async function publishBatch(deps: OutboxRelayDeps): Promise<BatchResult> {
  const client = await deps.pool.connect();
  let inTransaction = false;
  try {
    inTransaction = true;
    const results = (await client.query(claimSql(deps.settings.batchSize))) as unknown as QueryResult<ClaimedRecord>[];
    const rows = results[results.length - 1]!.rows;
    if (rows.length === 0) {
      await client.query('COMMIT');
      inTransaction = false;
      return { claimed: 0, sequences: [], published: 0, failed: 0 };
    }
    const outcome = await publishInAggregateOrder(deps, rows.map(toRow));
    await markOutcomeAndCommit(client, deps.settings, outcome);
    inTransaction = false;
    return {
      claimed: rows.length,
      sequences: rows.map((row) => row.sequence),
      published: outcome.published.length,
      failed: outcome.failed.length,
    };
  } catch (error) {
    if (inTransaction) await client.query('ROLLBACK').catch(() => undefined);
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
 * XADDs a stream's entries in order inside Redis, stopping for an aggregate at its first entry
 * Redis refuses, so a later version never overtakes a refused one (a plain pipeline would carry
 * on with the aggregate's next entry). KEYS[1]: the stream. ARGV: MAXLEN, fields per entry, then
 * per entry its aggregate id followed by its fields. Returns per entry 1 (added), 0 (held back
 * behind a refused entry of its aggregate) or the error message.
 */
const xaddInOrder = `
local maxlen, width = ARGV[1], tonumber(ARGV[2])
local refused, out = {}, {}
for i = 3, #ARGV, width + 1 do
  local aggregate = ARGV[i]
  if refused[aggregate] then
    out[#out + 1] = 0
  else
    local reply = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', unpack(ARGV, i + 1, i + width))
    if type(reply) == 'table' and reply.err then
      refused[aggregate] = true
      out[#out + 1] = reply.err
    else
      out[#out + 1] = 1
    end
  end
end
return out
`;
const xaddInOrderSha = createHash('sha1').update(xaddInOrder).digest('hex');
const FIELDS_PER_ENTRY = 14;

/**
 * One round trip per batch: one script call per stream (so each call touches one key), entries in
 * sequence order. Redis runs a script whole, so nothing interleaves inside a stream's call. A
 * script Redis does not know yet (after a restart) is sent once more as EVAL. A connection
 * failure aborts the whole batch.
 */
async function publishInAggregateOrder(deps: OutboxRelayDeps, rows: OutboxRow[]): Promise<PublishOutcome> {
  const byStream = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const list = byStream.get(row.stream);
    if (list) list.push(row);
    else byStream.set(row.stream, [row]);
  }
  const calls = [...byStream].map(([stream, entries]) => {
    const args: (string | number)[] = [deps.settings.streamMaxLen, FIELDS_PER_ENTRY];
    for (const row of entries) args.push(row.aggregateId, ...streamFields(row));
    return { stream, entries, args };
  });
  const replies = await runScriptCalls(deps.redis, calls, true);
  const outcome: PublishOutcome = { published: [], failed: [] };
  calls.forEach((call, c) => {
    const [error, reply] = replies[c]!;
    if (error) {
      // The script as a whole was refused: no entry was added; each aggregate's first entry counts an attempt.
      const seen = new Set<string>();
      for (const row of call.entries) {
        if (seen.has(row.aggregateId)) continue;
        seen.add(row.aggregateId);
        outcome.failed.push({ row, error: error.message });
      }
      return;
    }
    const perEntry = reply as (number | string)[];
    call.entries.forEach((row, i) => {
      const result = perEntry[i];
      if (result === 1) outcome.published.push(row);
      else if (typeof result === 'string') outcome.failed.push({ row, error: result });
    });
  });
  return outcome;
}

type CallReply = [Error | null, unknown];

/**
 * The calls are sent together as separate commands, not as one pipeline: streams hash to different
 * slots, and a Redis Cluster's pipeline may only hold one slot's keys (each call touches only its
 * own stream, so each is whole on its node).
 */
async function runScriptCalls(
  redis: RedisClient,
  calls: { stream: string; args: (string | number)[] }[],
  bySha: boolean,
): Promise<CallReply[]> {
  const replies = await Promise.all(
    calls.map(({ stream, args }) =>
      (bySha ? redis.evalsha(xaddInOrderSha, 1, stream, ...args) : redis.eval(xaddInOrder, 1, stream, ...args)).then(
        (reply): CallReply => [null, reply],
        (error: unknown): CallReply => [error instanceof Error ? error : new Error(String(error)), undefined],
      ),
    ),
  );
  for (const [error] of replies) {
    // Not an answer from Redis (connection lost, timeout): nothing is known, the batch is rolled back.
    if (error && !(error instanceof ReplyError)) throw error;
  }
  const unknown = calls.flatMap((call, c) => (replies[c]![0]?.message.startsWith('NOSCRIPT') ? [c] : []));
  if (!bySha || unknown.length === 0) return replies;
  // A NOSCRIPT call ran nothing: send those calls again with the script's text.
  const again = await runScriptCalls(
    redis,
    unknown.map((c) => calls[c]!),
    false,
  );
  unknown.forEach((c, i) => (replies[c] = again[i]!));
  return replies;
}

/**
 * Marks the batch and commits: the published rows in one UPDATE sent with the COMMIT as one
 * simple query (their sequences are numbers PostgreSQL gave us, checked, so they are inlined);
 * refused rows, when there are any, in one UPDATE before it.
 */
async function markOutcomeAndCommit(
  client: PoolClient,
  settings: RelaySettings,
  outcome: PublishOutcome,
): Promise<void> {
  if (outcome.failed.length > 0) {
    const attempts = outcome.failed.map(({ row }) => row.retryCount + 1);
    await client.query(
      `UPDATE outbox_events o
       SET retry_count = f.attempts, status = f.status, last_error = f.error,
           next_attempt_at = now() + make_interval(secs => f.delay_ms / 1000)
       FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::double precision[])
         AS f(sequence, attempts, status, error, delay_ms)
       WHERE o.sequence = f.sequence`,
      [
        outcome.failed.map(({ row }) => row.sequence),
        attempts,
        attempts.map((n) => (n >= settings.maxAttempts ? 'FAILED' : 'PENDING')),
        outcome.failed.map(({ error }) => error.slice(0, 2000)),
        attempts.map((n) => backoffMs(settings.backoffBaseMs, n)),
      ],
    );
  }
  if (outcome.published.length === 0) {
    await client.query('COMMIT');
    return;
  }
  const sequences = outcome.published.map((r) => r.sequence);
  if (!sequences.every((s) => /^\d+$/.test(s))) throw new Error('outbox sequence is not a whole number');
  await client.query(
    `UPDATE outbox_events SET status = 'PUBLISHED', published_at = now(), last_error = NULL
     WHERE sequence = ANY ('{${sequences.join(',')}}'::bigint[]);
     COMMIT`,
  );
}

/**
 * Deletes published rows older than the retention, in chunks; domain_events keeps every event.
 * Reads only expired rows, through the partial index on published_at of PUBLISHED rows.
 */
export async function deleteExpiredPublished(pool: Pool, retentionMs: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await pool.query(
      `DELETE FROM outbox_events WHERE sequence IN (
         SELECT sequence FROM outbox_events
         WHERE status = 'PUBLISHED' AND published_at < now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY published_at
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
