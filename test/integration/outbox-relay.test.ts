import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backoffMs, eventStreamName } from '../../events/outbox-relay';
import { loadConfig } from '../../platform/config';
import {
  appendEvents,
  connectRedis,
  createOutboxDatabase,
  interleavedEvents,
  readStream,
  startRelayLoop,
  statusCounts,
  versionsByAggregate,
  waitUntil,
  type OutboxDatabase,
} from '../support/outbox';
import { entryEnv, repoRoot, startEntry, type LongRunning } from '../support/processes';
import { testServices } from '../support/services';
import type { RedisClient } from '../../platform/redis';

/** The outbox relay as it runs in production: its own process, against real PostgreSQL and Redis. */

let db: OutboxDatabase;
let redis: RedisClient;
let dataDir: string;
const running: LongRunning[] = [];

beforeAll(async () => {
  db = await createOutboxDatabase('relay');
  redis = connectRedis(testServices.redisUrl);
  dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-relay-'));
});

afterEach(async () => {
  for (const relay of running.splice(0)) {
    relay.child.kill('SIGTERM');
    await relay.exited;
  }
});

afterAll(async () => {
  redis.disconnect();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function startRelay(env: Record<string, string> = {}): Promise<LongRunning> {
  const relay = startEntry('scripts/relay.ts', {
    DATABASE_URL: db.url,
    REDIS_URL: testServices.redisUrl,
    DATA_DIR: dataDir,
    RELAY_POLL_INTERVAL_MS: '200',
    ...env,
  });
  running.push(relay);
  await relay.waitForOutput('relay started', 30_000);
  return relay;
}

/** A stream of its own per test, so that tests never read each other's entries. */
function freshStream(): { aggregateType: string; stream: string } {
  const aggregateType = `test-${randomUUID().slice(0, 8)}`;
  return { aggregateType, stream: eventStreamName(aggregateType) };
}

function shopflow(args: string[]) {
  return spawnSync(process.execPath, [path.join(repoRoot, 'cli', 'bin.js'), ...args], {
    env: entryEnv({ DATABASE_URL: db.url }),
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('outbox relay', () => {
  it('publishes pending events in order, with every field, and marks them published', async () => {
    const { aggregateType, stream } = freshStream();
    const rounds = interleavedEvents(aggregateType, stream, 3, 4);
    for (const round of rounds) await appendEvents(db.pool, round);
    await startRelay();

    await waitUntil('12 entries', 15_000, async () => (await redis.xlen(stream)) === 12);
    const entries = await readStream(redis, stream);
    expect(entries.map((e) => e.sequence)).toEqual([...entries.map((e) => e.sequence)].sort((a, b) => Number(a - b)));
    for (const versions of versionsByAggregate(entries).values()) expect(versions).toEqual([1, 2, 3, 4]);
    expect(entries[0]).toMatchObject({ aggregateType, eventType: 'TestHappened', version: 1, payload: { n: 1 } });
    await waitUntil('rows marked', 5_000, async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox_events WHERE stream = $1 AND status = 'PUBLISHED' AND published_at IS NOT NULL`,
        [stream],
      );
      return rows[0]!.n === 12;
    });
  });

  it('wakes on NOTIFY at once, long before its next poll', async () => {
    const { aggregateType, stream } = freshStream();
    await startRelay({ RELAY_POLL_INTERVAL_MS: '60000' });
    await new Promise((resolve) => setTimeout(resolve, 500)); // idle, waiting on LISTEN

    const started = Date.now();
    await appendEvents(db.pool, [{ aggregateType, aggregateId: randomUUID(), version: 1, stream }]);
    await waitUntil('the entry', 5_000, async () => (await redis.xlen(stream)) === 1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('an idle relay claims a commit at once, however long RELAY_CLAIM_INTERVAL_MS is', async () => {
    const { aggregateType, stream } = freshStream();
    await startRelay({ RELAY_POLL_INTERVAL_MS: '60000', RELAY_CLAIM_INTERVAL_MS: '1500' });
    // Idle for well over the interval (its start-up rounds are behind it).
    await new Promise((resolve) => setTimeout(resolve, 4_000));

    const started = Date.now();
    await appendEvents(db.pool, [{ aggregateType, aggregateId: randomUUID(), version: 1, stream }]);
    await waitUntil('the entry', 5_000, async () => (await redis.xlen(stream)) === 1);
    // Not held back for the interval.
    expect(Date.now() - started).toBeLessThan(750);
  });

  it('a busy relay takes the commits of each RELAY_CLAIM_INTERVAL_MS in one claim (group commit)', async () => {
    const { aggregateType, stream } = freshStream();
    await startRelay({ RELAY_POLL_INTERVAL_MS: '60000', RELAY_CLAIM_INTERVAL_MS: '400' });
    await new Promise((resolve) => setTimeout(resolve, 500));

    // 60 commits, one every 20 ms: claimed on every NOTIFY, that would be about 60 claims.
    const started = Date.now();
    for (let i = 0; i < 60; i++) {
      await appendEvents(db.pool, [{ aggregateType, aggregateId: randomUUID(), version: 1, stream }]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const committingMs = Date.now() - started;
    await waitUntil('60 entries', 10_000, async () => (await redis.xlen(stream)) === 60);
    await waitUntil('rows marked', 5_000, async () => (await statusCounts(db.pool, stream))['PUBLISHED'] === 60);
    // Each claim marks its batch in one transaction: one published_at (now()) per claim.
    const { rows } = await db.pool.query<{ claims: number }>(
      `SELECT count(DISTINCT published_at)::int AS claims FROM outbox_events WHERE stream = $1`,
      [stream],
    );
    expect(rows[0]!.claims).toBeGreaterThan(1);
    expect(rows[0]!.claims).toBeLessThanOrEqual(Math.ceil(committingMs / 400) + 2);
  });

  it('skips the NOTIFY of rows its last claim already took, and wakes for any other', async () => {
    const { aggregateType, stream } = freshStream();
    let rounds = 0;
    const relay = startRelayLoop(
      db.url,
      testServices.redisUrl,
      { ...loadConfig(process.env).relay, claimIntervalMs: 0 },
      { pollIntervalMs: 60_000, onRound: () => (rounds += 1) },
    );
    try {
      await appendEvents(db.pool, [{ aggregateType, aggregateId: randomUUID(), version: 1, stream }]);
      await waitUntil('the entry', 5_000, async () => (await redis.xlen(stream)) === 1);
      const [entry] = await readStream(redis, stream);
      const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
      await settle();

      // What a NOTIFY delivered after a claim that took its rows says: the relay stays asleep.
      const before = rounds;
      await db.pool.query(`SELECT pg_notify('outbox_events', $1)`, [String(entry!.sequence)]);
      await settle();
      expect(rounds).toBe(before);

      // News (a sequence it has not claimed) wakes it.
      await db.pool.query(`SELECT pg_notify('outbox_events', $1)`, [String(entry!.sequence + 1n)]);
      await waitUntil('a round', 5_000, () => Promise.resolve(rounds > before));
    } finally {
      await relay.stop();
    }
  });

  it('still publishes by polling with LISTEN off', async () => {
    const { aggregateType, stream } = freshStream();
    await startRelay({ RELAY_LISTEN: 'false', RELAY_POLL_INTERVAL_MS: '300' });
    await new Promise((resolve) => setTimeout(resolve, 500));

    await appendEvents(db.pool, [{ aggregateType, aggregateId: randomUUID(), version: 1, stream }]);
    await waitUntil('the entry', 5_000, async () => (await redis.xlen(stream)) === 1);
  });

  it('retries a refused publish with backoff, marks it FAILED after the last attempt, and retry-failed puts it back', async () => {
    const { aggregateType, stream } = freshStream();
    const broken = freshStream();
    // A plain string where the stream should be: RedisClient refuses every XADD to it (WRONGTYPE).
    await redis.set(broken.stream, 'not a stream');
    const stuck = randomUUID();
    const fine = randomUUID();
    await appendEvents(db.pool, [
      { ...broken, aggregateId: stuck, version: 1 },
      { ...broken, aggregateId: stuck, version: 2 },
      { aggregateType, stream, aggregateId: fine, version: 1 },
    ]);
    const started = Date.now();
    await startRelay({ RELAY_MAX_ATTEMPTS: '4', RELAY_BACKOFF_BASE_MS: '150' });

    const rowsOf = async (aggregateId: string) =>
      (
        await db.pool.query<{ version: number; status: string; retry_count: number; last_error: string | null }>(
          'SELECT version, status, retry_count, last_error FROM outbox_events WHERE aggregate_id = $1 ORDER BY version',
          [aggregateId],
        )
      ).rows;
    await waitUntil('the FAILED row', 15_000, async () => (await rowsOf(stuck))[0]?.status === 'FAILED');
    // Waited 150 + 300 + 600 ms between the four attempts.
    expect(Date.now() - started).toBeGreaterThanOrEqual(backoffMs(150, 1) + backoffMs(150, 2) + backoffMs(150, 3));
    const [first, second] = await rowsOf(stuck);
    expect(first).toMatchObject({ status: 'FAILED', retry_count: 4, last_error: expect.stringMatching(/WRONGTYPE/) });
    // Version 2 waits behind the failed version 1: no consumer sees them out of order.
    expect(second).toMatchObject({ status: 'PENDING', retry_count: 0 });
    // Other aggregates are not held up.
    expect((await rowsOf(fine))[0]).toMatchObject({ status: 'PUBLISHED' });

    await redis.del(broken.stream);
    const retry = shopflow(['outbox', 'retry-failed']);
    expect(retry.stderr).toBe('');
    expect(retry.status).toBe(0);
    expect(retry.stdout).toBe('1 failed outbox rows put back to pending\n');

    await waitUntil('both published', 10_000, async () => (await redis.xlen(broken.stream).catch(() => 0)) === 2);
    expect((await readStream(redis, broken.stream)).map((e) => e.version)).toEqual([1, 2]);
    const status = shopflow(['outbox', 'status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ failed: 0 });
  });

  it('deletes published rows past the retention, and only those', async () => {
    const { aggregateType, stream } = freshStream();
    const aggregateId = randomUUID();
    await appendEvents(
      db.pool,
      [1, 2, 3].map((version) => ({ aggregateType, stream, aggregateId, version })),
    );
    await db.pool.query(
      `UPDATE outbox_events SET status = 'PUBLISHED', published_at = now() - interval '2 hours'
       WHERE aggregate_id = $1 AND version = 1`,
      [aggregateId],
    );
    await db.pool.query(
      `UPDATE outbox_events SET status = 'PUBLISHED', published_at = now() - interval '10 minutes'
       WHERE aggregate_id = $1 AND version = 2`,
      [aggregateId],
    );
    await db.pool.query(`UPDATE outbox_events SET status = 'FAILED' WHERE aggregate_id = $1 AND version = 3`, [
      aggregateId,
    ]);
    await startRelay({ OUTBOX_RETENTION_MS: String(60 * 60_000) });

    await waitUntil('the old row deleted', 10_000, async () => {
      const { rows } = await db.pool.query<{ version: number }>(
        'SELECT version FROM outbox_events WHERE aggregate_id = $1 ORDER BY version',
        [aggregateId],
      );
      return rows.map((r) => r.version).join() === '2,3';
    });
    // The event store keeps every event.
    const { rows } = await db.pool.query('SELECT 1 FROM domain_events WHERE aggregate_id = $1', [aggregateId]);
    expect(rows).toHaveLength(3);
    await db.pool.query(`DELETE FROM outbox_events WHERE aggregate_id = $1`, [aggregateId]);
  });

  it('two relays at once keep every aggregate in version order (20 aggregates × 100 events)', async () => {
    const { aggregateType, stream } = freshStream();
    await Promise.all([startRelay({ RELAY_BATCH_SIZE: '25' }), startRelay({ RELAY_BATCH_SIZE: '25' })]);
    for (const round of interleavedEvents(aggregateType, stream, 20, 100)) await appendEvents(db.pool, round);

    await waitUntil('2,000 entries', 60_000, async () => (await redis.xlen(stream)) >= 2_000);
    await waitUntil('all published', 10_000, async () => (await statusCounts(db.pool))['PENDING'] === undefined);
    const entries = await readStream(redis, stream);
    // Nobody crashed, so every event went out exactly once.
    expect(new Set(entries.map((e) => e.eventId)).size).toBe(2_000);
    expect(entries).toHaveLength(2_000);
    const byAggregate = versionsByAggregate(entries);
    expect(byAggregate.size).toBe(20);
    const expected = Array.from({ length: 100 }, (_, i) => i + 1);
    for (const [aggregateId, versions] of byAggregate) {
      expect({ aggregateId, versions }).toEqual({ aggregateId, versions: expected });
    }
  }, 90_000);
});
