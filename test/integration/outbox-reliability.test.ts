import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, type Database } from '../../platform/database';
import { eventStreamName } from '../../events/outbox-relay';
import { consume } from '../../events/stream-consumer';
import {
  appendEvents,
  connectRedis,
  createOutboxDatabase,
  interleavedEvents,
  redisUrlOn,
  statusCounts,
  waitUntil,
  type OutboxDatabase,
} from '../support/outbox';
import { entryEnv, repoRoot, startEntry, type LongRunning } from '../support/processes';
import type { RedisClient } from '../../platform/redis';
import { flushTestRedis, testRedis } from '../support/redis';

/**
 * At-least-once delivery with exactly-once effect, under a relay killed with SIGKILL again and
 * again and under a Redis that loses all its streams. Redis database 12 is this file's alone: it
 * is flushed on purpose.
 */

const redisUrl = redisUrlOn(12);
let outbox: OutboxDatabase;
let db: Database;
let redis: RedisClient;
let dataDir: string;
const relays: LongRunning[] = [];
const consumers: { stop: AbortController; done: Promise<void> }[] = [];

beforeAll(async () => {
  outbox = await createOutboxDatabase('reliability');
  // What a consumer does: one row per handled event. No unique key, so a double effect would show.
  await outbox.pool.query(
    `CREATE TABLE test_effects (seq BIGSERIAL PRIMARY KEY, consumer TEXT NOT NULL, event_id UUID NOT NULL,
                                aggregate_id UUID NOT NULL, version INT NOT NULL)`,
  );
  db = createDatabase({ database: { url: outbox.url, poolSize: 4 } });
  redis = connectRedis(redisUrl);
  await flushTestRedis(redis);
  dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-reliability-'));
});

afterAll(async () => {
  for (const relay of relays) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
  for (const consumer of consumers) consumer.stop.abort();
  await Promise.all(consumers.map((c) => c.done));
  await db.$disconnect();
  redis.disconnect();
  await outbox.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function startRelay(): Promise<LongRunning> {
  const relay = startEntry('scripts/relay.ts', {
    DATABASE_URL: outbox.url,
    REDIS_URL: redisUrl,
    DATA_DIR: dataDir,
    RELAY_POLL_INTERVAL_MS: '200',
    RELAY_BATCH_SIZE: '100',
  });
  relays.push(relay);
  await relay.waitForOutput('relay started', 30_000);
  return relay;
}

/** A consumer process's work, in this process: record each event's effect in its transaction. */
function startConsumer(stream: string, group: string): void {
  const stop = new AbortController();
  const connection = testRedis(redisUrl);
  connection.on('error', () => undefined);
  const done = consume({
    redis: connection,
    db,
    stream,
    group,
    consumer: `${group}-1`,
    signal: stop.signal,
    blockMs: 200,
    claimIdleMs: 5_000,
    retryDelayMs: 100,
    handle: async (event, tx) => {
      await tx.$executeRaw`
        INSERT INTO test_effects (consumer, event_id, aggregate_id, version)
        VALUES (${group}, ${event.eventId}::uuid, ${event.aggregateId}::uuid, ${event.version})`;
    },
  }).finally(() => connection.disconnect());
  consumers.push({ stop, done });
}

async function effects(group: string) {
  const { rows } = await outbox.pool.query<{ event_id: string; aggregate_id: string; version: number }>(
    'SELECT event_id, aggregate_id, version FROM test_effects WHERE consumer = $1 ORDER BY seq',
    [group],
  );
  return rows;
}

async function inboxCount(group: string): Promise<number> {
  const { rows } = await outbox.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM consumer_inbox WHERE consumer = $1',
    [group],
  );
  return rows[0]!.n;
}

/** Every event of the aggregate type took effect exactly once, and in version order per aggregate. */
async function expectExactlyOnceInOrder(group: string, aggregateType: string, total: number, perAggregate: number) {
  const { rows: all } = await outbox.pool.query<{ id: string }>(
    'SELECT id FROM domain_events WHERE aggregate_type = $1',
    [aggregateType],
  );
  expect(all).toHaveLength(total);
  const seen = await effects(group);
  expect(seen).toHaveLength(total);
  expect(new Set(seen.map((e) => e.event_id))).toEqual(new Set(all.map((e) => e.id)));
  expect(await inboxCount(group)).toBe(total);
  const versions = new Map<string, number[]>();
  for (const e of seen) versions.set(e.aggregate_id, [...(versions.get(e.aggregate_id) ?? []), e.version]);
  const expected = Array.from({ length: perAggregate }, (_, i) => i + 1);
  return { versions, expected };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('outbox delivery under failure', () => {
  it('5,000 events with the relay SIGKILLed at random moments: each takes effect exactly once, in order', async () => {
    const aggregateType = `reliability-${randomUUID().slice(0, 8)}`;
    const stream = eventStreamName(aggregateType);
    const group = 'kill-test';
    startConsumer(stream, group);

    // 50 aggregates × 100 versions, written version by version while the relay is being killed.
    let producing = true;
    const producer = (async () => {
      for (const round of interleavedEvents(aggregateType, stream, 50, 100)) {
        await appendEvents(outbox.pool, round);
        await sleep(40);
      }
      producing = false;
    })();

    let kills = 0;
    while (producing || kills < 5) {
      const relay = await startRelay();
      await sleep(150 + Math.random() * 700);
      relay.child.kill('SIGKILL');
      await relay.exited;
      kills += 1;
    }
    await producer;
    await startRelay();

    await waitUntil('every event handled', 60_000, async () => (await inboxCount(group)) === 5_000);
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(await statusCounts(outbox.pool)).toEqual({ PUBLISHED: 5_000 });
    const { versions, expected } = await expectExactlyOnceInOrder(group, aggregateType, 5_000, 100);
    expect(versions.size).toBe(50);
    for (const [aggregateId, got] of versions) expect({ aggregateId, got }).toEqual({ aggregateId, got: expected });
    // Duplicates in the stream show kills between XADD and commit; the inbox absorbed them.
    const published = await redis.xlen(stream);
    expect(published).toBeGreaterThanOrEqual(5_000);
  }, 90_000);

  it('after Redis loses its streams, `shopflow outbox republish` lets the consumer catch up with no gap', async () => {
    const aggregateType = `flush-${randomUUID().slice(0, 8)}`;
    const stream = eventStreamName(aggregateType);
    const group = 'flush-test';
    startConsumer(stream, group);
    if (!relays.some((r) => r.child.exitCode === null && r.child.signalCode === null)) await startRelay();

    const rounds = interleavedEvents(aggregateType, stream, 20, 50);
    let written = 0;
    // The producer pauses half-way until Redis was flushed, so the flush lands mid-flow however
    // slow the machine is: some events handled, some published and unread, more still to come.
    let flushed!: () => void;
    const afterFlush = new Promise<void>((resolve) => (flushed = resolve));
    const producer = (async () => {
      for (const round of rounds) {
        if (written >= 500) await afterFlush;
        await appendEvents(outbox.pool, round);
        written += round.length;
        await sleep(20);
      }
    })();

    // Mid-flow: some events handled, some published but not yet read, more still to come.
    await waitUntil('some events handled', 30_000, async () => (await inboxCount(group)) >= 300);
    await flushTestRedis(redis);
    const handledAtFlush = await inboxCount(group);
    expect(written).toBeLessThan(1_000);
    flushed();
    await producer;

    // Where the consumer stands: the first outbox sequence it has not handled.
    const { rows } = await outbox.pool.query<{ first: string }>(
      `SELECT min(o.sequence)::text AS first FROM outbox_events o
       WHERE o.aggregate_type = $1
         AND NOT EXISTS (SELECT 1 FROM consumer_inbox i WHERE i.consumer = $2 AND i.event_id = o.event_id)`,
      [aggregateType, group],
    );
    const fromSequence = rows[0]!.first;
    const republish = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'cli', 'bin.js'), 'outbox', 'republish', '--from-sequence', fromSequence],
      { env: entryEnv({ DATABASE_URL: outbox.url }), encoding: 'utf8', timeout: 30_000 },
    );
    expect(republish.stderr).toBe('');
    expect(republish.status).toBe(0);
    expect(republish.stdout).toMatch(new RegExp(`^\\d+ outbox rows from sequence ${fromSequence} queued`));

    await waitUntil('every event handled', 60_000, async () => (await inboxCount(group)) === 1_000);
    expect(handledAtFlush).toBeLessThan(1_000);
    await expectExactlyOnceInOrder(group, aggregateType, 1_000, 50);
  }, 90_000);
});
