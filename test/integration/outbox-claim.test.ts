import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../../platform/config';
import { deleteExpiredPublished, eventStreamName, publishBatch, type RelaySettings } from '../../events/outbox-relay';
import {
  appendEvents,
  connectRedis,
  createOutboxDatabase,
  readStream,
  versionsByAggregate,
  type OutboxDatabase,
} from '../support/outbox';
import { testServices } from '../support/services';
import type { RedisClient } from '../../platform/redis';

/**
 * The relay's claim (events/outbox-relay.ts) one batch at a time, in this process: what it may and may
 * not take around rows that are FAILED or waiting for their retry, and that it reads through the
 * partial indexes rather than the whole table.
 */

let db: OutboxDatabase;
let redis: RedisClient;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  db = await createOutboxDatabase('claim');
  redis = connectRedis(testServices.redisUrl);
});

afterAll(async () => {
  redis.disconnect();
  await db.drop();
});

function settings(batchSize: number): RelaySettings {
  return loadConfig({ RELAY_BATCH_SIZE: String(batchSize) }).relay;
}

function freshStream(): { aggregateType: string; stream: string } {
  const aggregateType = `claim-${randomUUID().slice(0, 8)}`;
  return { aggregateType, stream: eventStreamName(aggregateType) };
}

async function setStatus(aggregateId: string, version: number, set: string): Promise<void> {
  await db.pool.query(`UPDATE outbox_events SET ${set} WHERE aggregate_id = $1 AND version = $2`, [
    aggregateId,
    version,
  ]);
}

async function drain(batchSize: number): Promise<number> {
  let claimed = 0;
  for (;;) {
    const result = await publishBatch({ pool: db.pool, redis, settings: settings(batchSize), logger });
    if (result.claimed === 0) return claimed;
    claimed += result.claimed;
  }
}

afterEach(async () => {
  await db.pool.query('DELETE FROM outbox_events');
});

describe('the outbox claim', () => {
  it('passes over a FAILED aggregate with more pending rows than a batch, and publishes the others', async () => {
    const { aggregateType, stream } = freshStream();
    const stuck = randomUUID();
    const waiting = randomUUID();
    const fine = randomUUID();
    await appendEvents(db.pool, [
      ...Array.from({ length: 12 }, (_, i) => ({ aggregateType, stream, aggregateId: stuck, version: i + 1 })),
      ...Array.from({ length: 12 }, (_, i) => ({ aggregateType, stream, aggregateId: waiting, version: i + 1 })),
      ...[1, 2, 3].map((version) => ({ aggregateType, stream, aggregateId: fine, version })),
    ]);
    await setStatus(stuck, 1, `status = 'FAILED', retry_count = 10`);
    await setStatus(waiting, 1, `retry_count = 1, next_attempt_at = now() + interval '1 hour'`);

    expect(await drain(5)).toBe(3);
    const entries = await readStream(redis, stream);
    expect(Object.fromEntries(versionsByAggregate(entries))).toEqual({ [fine]: [1, 2, 3] });
  });

  it('cuts an aggregate before a FAILED row in the middle of its run', async () => {
    const { aggregateType, stream } = freshStream();
    const aggregateId = randomUUID();
    await appendEvents(
      db.pool,
      [1, 2, 3, 4].map((version) => ({ aggregateType, stream, aggregateId, version })),
    );
    await setStatus(aggregateId, 3, `status = 'FAILED', retry_count = 10`);

    expect(await drain(100)).toBe(2);
    expect((await readStream(redis, stream)).map((e) => e.version)).toEqual([1, 2]);
    const { rows } = await db.pool.query<{ version: number; status: string }>(
      'SELECT version, status FROM outbox_events WHERE aggregate_id = $1 ORDER BY version',
      [aggregateId],
    );
    expect(rows.map((r) => `${r.version}:${r.status}`)).toEqual([
      '1:PUBLISHED',
      '2:PUBLISHED',
      '3:FAILED',
      '4:PENDING',
    ]);
  });

  it('publishes batch after batch in sequence order, each aggregate in version order', async () => {
    const { aggregateType, stream } = freshStream();
    const ids = Array.from({ length: 7 }, () => randomUUID());
    await appendEvents(
      db.pool,
      Array.from({ length: 9 }, (_, v) =>
        ids.map((aggregateId) => ({ aggregateType, stream, aggregateId, version: v + 1 })),
      ).flat(),
    );

    expect(await drain(10)).toBe(63);
    const entries = await readStream(redis, stream);
    expect(entries.map((e) => Number(e.sequence))).toEqual(
      [...entries.map((e) => Number(e.sequence))].sort((a, b) => a - b),
    );
    for (const versions of versionsByAggregate(entries).values()) expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reads the pending rows and the expired published rows through their partial indexes', async () => {
    const plan = async (sql: string) =>
      (await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
    await db.pool.query('SET enable_seqscan = off'); // the table is tiny; ask which index the planner can use
    try {
      expect(
        await plan(`SELECT sequence FROM outbox_events WHERE status IN ('PENDING', 'FAILED') AND status = 'PENDING'
                    ORDER BY sequence LIMIT 100`),
      ).toMatch(/(using|on) outbox_events_unpublished_/);
      expect(
        await plan(
          `SELECT sequence FROM outbox_events WHERE status = 'PUBLISHED' AND published_at < now() ORDER BY published_at LIMIT 5000`,
        ),
      ).toMatch(/(using|on) outbox_events_published_at_idx/);
    } finally {
      await db.pool.query('RESET enable_seqscan');
    }
    expect(await deleteExpiredPublished(db.pool, 60_000)).toBe(0);
  });
});
