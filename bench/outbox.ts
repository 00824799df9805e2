import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { Redis } from 'ioredis';
import pidusage from 'pidusage';
import { Pool } from 'pg';
import pino from 'pino';
import { loadConfigOrExit } from '../platform/config';
import { migrate } from '../platform/migrations';
import { eventStreamName, streamFields } from '../events/outbox-relay';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../platform/postgres-admin';
import { appendEvents, type SyntheticEvent } from '../test/support/outbox';
import { startEntry, type LongRunning } from '../test/support/processes';
import { quantile, round } from './support/load';
import { writeResults } from './support/results';
import { phaseProgress, positiveInt } from '../platform/command-line';

/**
 * Question: how many events per second does the outbox relay (scripts/relay.ts, in its own
 * process as in production) move from PostgreSQL to Redis Streams, and how long does an event
 * take from its commit to a consumer reading it off the stream at a steady rate, with LISTEN/NOTIFY
 * and with polling only? The baseline is the same entries written straight to Redis with
 * pipelined XADD (no database at all): the most the relay could ever reach.
 *
 * A fresh database (dropped at the end) and Redis database `--redis-db` (flushed before each
 * phase; never 0). Throughput: all events are committed first (domain_events + outbox_events,
 * `--aggregates` aggregates, versions interleaved), then the relay starts and is timed from its
 * "relay started" line until no row is PENDING. Latency: one transaction per event at `--rate`
 * for `--duration-s`, the commit's acknowledgement time kept by event id; a plain XREAD BLOCK
 * reader (no consumer group, no inbox transaction) takes the receive time.
 */

interface Options {
  events: number;
  aggregates: number;
  rate: number;
  durationS: number;
  batchSize?: number;
  pollIntervalMs?: number;
  pipeline: number;
  redisDb: number;
}

const AGGREGATE_TYPE = 'bench';
const STREAM = eventStreamName(AGGREGATE_TYPE);

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function redisDbIndex(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 15) throw new InvalidArgumentError('must be 1..15 (never 0)');
  return n;
}

async function main(options: Options): Promise<void> {
  const base = loadConfigOrExit();
  const logger = pino({ level: 'info', base: undefined });
  const batchSize = options.batchSize ?? base.relay.batchSize;
  const pollIntervalMs = options.pollIntervalMs ?? base.relay.pollIntervalMs;
  const databaseUrl = databaseUrlFor(base.database.url, `shopflow_bench_outbox_${randomUUID().slice(0, 8)}`);
  const redisUrl = new URL(base.redis.url);
  redisUrl.pathname = `/${options.redisDb}`;
  await ensureDatabase(databaseUrl);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-bench-outbox-'));
  const pool = new Pool({ connectionString: databaseUrl, max: 8 });
  const redis = new Redis(redisUrl.toString(), { maxRetriesPerRequest: 1 });
  const relayEnv = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl.toString(),
    DATA_DIR: dataDir,
    RELAY_BATCH_SIZE: String(batchSize),
    RELAY_POLL_INTERVAL_MS: String(pollIntervalMs),
  };

  const bar = phaseProgress(4, 'baseline');
  const tick = bar.next;
  const figures: Record<string, number | string> = {
    events: options.events,
    aggregates: options.aggregates,
    relay_batch_size: batchSize,
    baseline_pipeline_size: options.pipeline,
    poll_interval_ms: pollIntervalMs,
    latency_rate_events_per_s: options.rate,
    latency_duration_s: options.durationS,
  };
  try {
    await migrate(databaseUrl);

    await redis.flushdb();
    const baselineS = await baselinePhase(redis, options, base.relay.streamMaxLen);
    tick('relay throughput');

    await redis.flushdb();
    const relay = await throughputPhase(pool, redis, options, relayEnv);
    tick('latency (listen)');

    await redis.flushdb();
    const listen = await latencyPhase(pool, redisUrl.toString(), options, { ...relayEnv, RELAY_LISTEN: 'true' });
    tick('latency (poll)');

    await redis.flushdb();
    const poll = await latencyPhase(pool, redisUrl.toString(), options, { ...relayEnv, RELAY_LISTEN: 'false' });
    tick('done');

    const baselinePerS = options.events / baselineS;
    const relayPerS = options.events / relay.seconds;
    Object.assign(figures, {
      baseline_xadd_events_per_s: round(baselinePerS, 0),
      baseline_xadd_s: round(baselineS, 3),
      relay_events_per_s: round(relayPerS, 0),
      relay_s: round(relay.seconds, 3),
      relay_ratio_vs_baseline: round(relayPerS / baselinePerS, 3),
      relay_ms_per_batch: round((relay.seconds * 1000) / Math.ceil(options.events / batchSize), 2),
      relay_cpu_ms_per_1000_events: round((relay.cpuMs / options.events) * 1000, 1),
      relay_cpu_share_of_wall: round(relay.cpuMs / (relay.seconds * 1000), 2),
      latency_listen_commit_p50_ms: listen.commitP50Ms,
      latency_listen_commit_p99_ms: listen.commitP99Ms,
      latency_listen_events: listen.received,
      latency_listen_p50_ms: listen.p50Ms,
      latency_listen_p99_ms: listen.p99Ms,
      latency_listen_max_ms: listen.maxMs,
      latency_listen_sent_events_per_s: listen.sentPerS,
      latency_poll_events: poll.received,
      latency_poll_p50_ms: poll.p50Ms,
      latency_poll_p99_ms: poll.p99Ms,
      latency_poll_max_ms: poll.maxMs,
      latency_poll_sent_events_per_s: poll.sentPerS,
    });
  } finally {
    bar.stop();
    await redis.flushdb().catch(() => undefined);
    redis.disconnect();
    await pool.end();
    await dropDatabase(databaseUrl);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const file = writeResults('outbox', figures);
  logger.info({ file, ...figures }, 'benchmark written');
}

/** The relay's stream entries, written straight to Redis in pipelines of `--pipeline` XADDs. */
async function baselinePhase(redis: Redis, options: Options, maxLen: number): Promise<number> {
  const aggregateIds = Array.from({ length: options.aggregates }, () => randomUUID());
  const startedAt = performance.now();
  for (let from = 0; from < options.events; from += options.pipeline) {
    const pipeline = redis.pipeline();
    for (let i = from; i < Math.min(options.events, from + options.pipeline); i++) {
      const fields = streamFields({
        sequence: String(i + 1),
        eventId: randomUUID(),
        aggregateType: AGGREGATE_TYPE,
        aggregateId: aggregateIds[i % options.aggregates]!,
        version: Math.floor(i / options.aggregates) + 1,
        eventType: 'BenchHappened',
        payload: { n: i },
        stream: STREAM,
        retryCount: 0,
      });
      pipeline.xadd(STREAM, 'MAXLEN', '~', maxLen, '*', ...fields);
    }
    const replies = await pipeline.exec();
    const failed = replies?.find(([error]) => error);
    if (failed) throw failed[0]!;
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const length = await redis.xlen(STREAM);
  if (length !== options.events) throw new Error(`baseline: stream holds ${length} entries, not ${options.events}`);
  return seconds;
}

/**
 * Commits `events` events up front (chunks of whole versions across all aggregates, so the outbox
 * sequence interleaves the aggregates as real traffic does), then times a fresh relay draining them.
 */
async function throughputPhase(
  pool: Pool,
  redis: Redis,
  options: Options,
  relayEnv: Record<string, string>,
): Promise<{ seconds: number; cpuMs: number }> {
  const aggregateIds = Array.from({ length: options.aggregates }, () => randomUUID());
  const versions = Math.ceil(options.events / options.aggregates);
  const versionsPerChunk = Math.max(1, Math.floor(5_000 / options.aggregates));
  let written = 0;
  for (let v = 1; v <= versions && written < options.events; v += versionsPerChunk) {
    const rows: SyntheticEvent[] = [];
    for (let version = v; version < v + versionsPerChunk && version <= versions; version++) {
      for (const aggregateId of aggregateIds) {
        if (written + rows.length >= options.events) break;
        rows.push({ aggregateType: AGGREGATE_TYPE, aggregateId, version, stream: STREAM });
      }
    }
    await appendEvents(pool, rows, 'BenchHappened');
    written += rows.length;
  }
  await pool.query('ANALYZE outbox_events');

  const relay = startRelay({ ...relayEnv, RELAY_LISTEN: 'true' });
  try {
    const startedAt = await relay.started;
    const pid = relay.process.child.pid!;
    const cpuBefore = (await pidusage(pid)).ctime;
    // Whether any row is still PENDING, not how many: counting 50,000 rows every 20 ms would take
    // a good share of PostgreSQL's time from the relay being measured.
    for (;;) {
      const { rows } = await pool.query<{ pending: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM outbox_events WHERE status = 'PENDING') AS pending`,
      );
      if (!rows[0]!.pending) break;
      if (performance.now() - startedAt > 600_000) throw new Error('relay: rows still pending after 10 minutes');
      await sleep(20);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const cpuMs = (await pidusage(pid)).ctime - cpuBefore;
    const length = await redis.xlen(STREAM);
    if (length < options.events) throw new Error(`relay: stream holds ${length} entries, not ${options.events}`);
    return { seconds, cpuMs };
  } finally {
    await relay.stop();
  }
}

interface Latency {
  received: number;
  sentPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  commitP50Ms: number;
  commitP99Ms: number;
}

/**
 * One transaction per event (a single statement inserting the domain_events row and its outbox
 * row) at `--rate`, open loop: each commit is started at its scheduled time whether or not the
 * previous ones have answered. Latency: the reader's receive time minus the commit's acknowledgement.
 */
async function latencyPhase(
  pool: Pool,
  redisUrl: string,
  options: Options,
  relayEnv: Record<string, string>,
): Promise<Latency> {
  await pool.query('TRUNCATE outbox_events, domain_events');
  const relay = startRelay(relayEnv);
  const reader = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const committedAt = new Map<string, number>();
  const receivedAt = new Map<string, number>();
  const commitMs: number[] = [];
  const failedCommits: string[] = [];
  const total = Math.round(options.rate * options.durationS);
  let reading = true;
  try {
    await relay.started;
    await sleep(1_000); // let it settle into its idle wait (LISTEN or poll sleep)
    const readLoop = (async () => {
      let lastId = '0-0';
      while (reading) {
        const reply = await reader.xread('COUNT', 1000, 'BLOCK', 200, 'STREAMS', STREAM, lastId);
        const now = performance.now();
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            lastId = id;
            const at = fields.indexOf('event_id');
            if (at >= 0 && !receivedAt.has(fields[at + 1]!)) receivedAt.set(fields[at + 1]!, now);
          }
        }
      }
    })();

    const aggregateIds = Array.from({ length: 500 }, () => randomUUID());
    const nextVersion = new Map<string, number>();
    const inFlight = new Set<Promise<void>>();
    const startedAt = performance.now();
    for (let i = 0; i < total; i++) {
      const due = startedAt + (i * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const aggregateId = aggregateIds[i % aggregateIds.length]!;
      const version = (nextVersion.get(aggregateId) ?? 0) + 1;
      nextVersion.set(aggregateId, version);
      const eventId = randomUUID();
      const sentAt = performance.now();
      const commit = pool
        .query(
          `WITH d AS (
             INSERT INTO domain_events (id, aggregate_type, aggregate_id, version, event_type, payload, partition_key, stream_id)
             VALUES ($1::uuid, '${AGGREGATE_TYPE}', $2::uuid, $3::int, 'BenchHappened', jsonb_build_object('n', $3::int), $2::text, $2::text)
             RETURNING id)
           INSERT INTO outbox_events (event_id, aggregate_type, aggregate_id, version, event_type, payload, stream)
           SELECT id, '${AGGREGATE_TYPE}', $2::uuid, $3::int, 'BenchHappened', jsonb_build_object('n', $3::int), '${STREAM}' FROM d`,
          [eventId, aggregateId, version],
        )
        .then(
          () => {
            const now = performance.now();
            committedAt.set(eventId, now);
            commitMs.push(now - sentAt);
          },
          (error: unknown) => {
            failedCommits.push(error instanceof Error ? error.message : String(error));
          },
        );
      inFlight.add(commit);
      void commit.finally(() => inFlight.delete(commit));
    }
    await Promise.all(inFlight);
    if (failedCommits.length > 0)
      throw new Error(`latency: ${failedCommits.length} commits failed: ${failedCommits[0]}`);
    const sentPerS = total / ((performance.now() - startedAt) / 1000);
    const deadline = performance.now() + 60_000;
    while (receivedAt.size < total && performance.now() < deadline) await sleep(20);
    reading = false;
    await readLoop;
    if (receivedAt.size < total) throw new Error(`latency: received ${receivedAt.size} of ${total} events`);

    const latencies = [...committedAt].map(([id, at]) => receivedAt.get(id)! - at);
    return {
      received: receivedAt.size,
      sentPerS: round(sentPerS, 1),
      p50Ms: round(quantile(latencies, 0.5), 1),
      p99Ms: round(quantile(latencies, 0.99), 1),
      maxMs: round(Math.max(...latencies), 1),
      commitP50Ms: round(quantile(commitMs, 0.5), 2),
      commitP99Ms: round(quantile(commitMs, 0.99), 2),
    };
  } finally {
    reading = false;
    reader.disconnect();
    await relay.stop();
  }
}

interface Relay {
  process: LongRunning;
  /** performance.now() when the relay printed "relay started" (its loop is running by then). */
  started: Promise<number>;
  stop(): Promise<void>;
}

/** scripts/relay.ts in its own process, as in production. */
function startRelay(env: Record<string, string>): Relay {
  const relay = startEntry('scripts/relay.ts', { LOG_LEVEL: 'info', ...env });
  const started = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      if (!chunk.toString().includes('relay started')) return;
      relay.child.stdout?.off('data', onData);
      resolve(performance.now());
    };
    relay.child.stdout?.on('data', onData);
    void relay.exited.then(() => reject(new Error(`relay exited before it started:\n${relay.output()}`)));
    setTimeout(() => reject(new Error(`relay did not start within 60 s:\n${relay.output()}`)), 60_000).unref();
  });
  started.catch(() => undefined); // awaited by the phases; never an unhandled rejection
  return {
    process: relay,
    started,
    async stop() {
      relay.child.kill('SIGTERM');
      await relay.exited;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

new Command('bench:outbox')
  .description(
    'Outbox relay throughput vs. pipelined XADD, and commit-to-consumer latency with LISTEN/NOTIFY and polling.',
  )
  .option('--events <n>', 'events for the throughput phases', positiveInt('--events'), 50_000)
  .option('--aggregates <n>', 'aggregates the throughput events spread over', positiveInt('--aggregates'), 500)
  .option('--rate <events/s>', 'steady commit rate of the latency phases', positiveNumber, 500)
  .option('--duration-s <seconds>', 'how long each latency phase commits events', positiveNumber, 10)
  .option('--batch-size <n>', 'RELAY_BATCH_SIZE (default: the configured one)', positiveInt('--batch-size'))
  .option(
    '--poll-interval-ms <ms>',
    'RELAY_POLL_INTERVAL_MS (default: the configured one)',
    positiveInt('--poll-interval-ms'),
  )
  .option('--pipeline <n>', 'XADDs per pipeline in the baseline', positiveInt('--pipeline'), 1_000)
  .option('--redis-db <index>', 'Redis database to use and flush (never 0)', redisDbIndex, 11)
  .action((options: Options) => main(options))
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(`bench:outbox: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
