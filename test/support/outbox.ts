import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import pino from 'pino';
import type { RelaySettings } from '../../events/outbox-relay';
import { runRelayLoop } from '../../events/outbox-relay-loop';
import { migrate } from '../../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../../platform/postgres-admin';
import { parseStreamEntry, type StreamEvent } from '../../events/stream-consumer';
import type { RedisClient } from '../../platform/redis';
import { testRedis } from './redis';
import { testServices } from './services';

/**
 * Outbox tests: a database of their own (the relay publishes every pending row it finds, so it
 * must not meet other test files' rows), synthetic events written the way the event store does
 * (a domain_events row and its outbox_events row), and reads of the streams.
 */

export interface OutboxDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

export async function createOutboxDatabase(label: string): Promise<OutboxDatabase> {
  const url = databaseUrlFor(testServices.postgresUrl, `shopflow_test_${label}_${randomUUID().slice(0, 8)}`);
  await ensureDatabase(url);
  await migrate(url);
  const pool = new Pool({ connectionString: url, max: 4 });
  // pool.end() resolves while its clients' sockets may still be closing; the forced DROP below
  // then ends them with an error that, unheard, would fail the test file after its tests passed.
  pool.on('error', () => undefined);
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      if (!process.env['KEEP_TEST_DATABASE']) await dropDatabase(url);
    },
  };
}

/** A Redis URL on database `db` of the test server. */
export function redisUrlOn(db: number): string {
  const url = new URL(testServices.redisUrl);
  url.pathname = `/${db}`;
  return url.toString();
}

/** A client on `url`, or on the Redis Cluster in its profile (test/support/redis.ts). */
export function connectRedis(url: string): RedisClient {
  return testRedis(url);
}

export interface SyntheticEvent {
  aggregateType: string;
  aggregateId: string;
  version: number;
  stream: string;
}

/**
 * Appends synthetic events (domain_events rows and their outbox rows) as one transaction, in the
 * given order, which becomes their outbox sequence: the rows are inserted in `ORDINALITY` order,
 * so each takes the next sequence value in turn, as the event store's appends do.
 */
export async function appendEvents(pool: Pool, events: SyntheticEvent[], eventType = 'TestHappened'): Promise<void> {
  if (events.length === 0) return;
  const params = [
    events.map(() => randomUUID()),
    events.map((e) => e.aggregateType),
    events.map((e) => e.aggregateId),
    events.map((e) => e.version),
    events.map((e) => e.stream),
    eventType,
  ];
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO domain_events (id, aggregate_type, aggregate_id, version, event_type, payload, partition_key, stream_id)
       SELECT id, type, agg, v, $6, jsonb_build_object('n', v), agg::text, agg::text
       FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::int[], $5::text[]) AS e(id, type, agg, v, stream)`,
      params,
    );
    await client.query(
      `INSERT INTO outbox_events (event_id, aggregate_type, aggregate_id, version, event_type, payload, stream)
       SELECT id, type, agg, v, $6, jsonb_build_object('n', v), stream
       FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::int[], $5::text[]) WITH ORDINALITY AS e(id, type, agg, v, stream, ord)
       ORDER BY ord`,
      params,
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

/** `aggregates` × `versions` events, version by version across the aggregates (interleaved). */
export function interleavedEvents(
  aggregateType: string,
  stream: string,
  aggregates: number,
  versions: number,
): SyntheticEvent[][] {
  const ids = Array.from({ length: aggregates }, () => randomUUID());
  return Array.from({ length: versions }, (_, v) =>
    ids.map((aggregateId) => ({ aggregateType, aggregateId, version: v + 1, stream })),
  );
}

export async function readStream(redis: RedisClient, stream: string): Promise<StreamEvent[]> {
  const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
  return entries.map(([id, fields]) => parseStreamEntry(id, fields));
}

/** Per aggregate, the versions in the order given; fails the test on a version out of order. */
export function versionsByAggregate(events: { aggregateId: string; version: number }[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const e of events) map.set(e.aggregateId, [...(map.get(e.aggregateId) ?? []), e.version]);
  return map;
}

export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Outbox rows by status: all of them, or one stream's. */
export async function statusCounts(pool: Pool, stream?: string): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM outbox_events WHERE $1::text IS NULL OR stream = $1 GROUP BY status',
    [stream ?? null],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export interface InProcessRelay {
  stop(): Promise<void>;
}

/**
 * The outbox relay's loop in this process, on the test's own database and Redis database, polling
 * every 100 ms unless told otherwise: for tests that need events to flow to the streams without a
 * relay process, or that watch its rounds.
 */
export function startRelayLoop(
  databaseUrl: string,
  redisUrl: string,
  settings: RelaySettings,
  options: {
    /** Called after every round that reached PostgreSQL, as the relay process's heartbeat is. */
    onRound?: () => void;
    pollIntervalMs?: number;
  } = {},
): InProcessRelay {
  const stop = new AbortController();
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const redis = connectRedis(redisUrl);
  const loop = runRelayLoop({
    pool,
    redis,
    settings: { ...settings, pollIntervalMs: options.pollIntervalMs ?? 100 },
    logger: pino({ level: 'silent' }),
    databaseUrl,
    signal: stop.signal,
    ...(options.onRound ? { onHeartbeat: options.onRound } : {}),
  }).finally(async () => {
    redis.disconnect();
    await pool.end();
  });
  return {
    async stop() {
      stop.abort();
      await loop;
    },
  };
}
