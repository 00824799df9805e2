import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { runShardRelays } from '../../events/shard-relays';
import { loadConfig } from '../../platform/config';
import {
  appendEvents,
  connectRedis,
  createOutboxDatabase,
  interleavedEvents,
  readStream,
  statusCounts,
  versionsByAggregate,
  waitUntil,
  type OutboxDatabase,
} from '../support/outbox';
import { testServices } from '../support/services';
import type { RedisClient } from '../../platform/redis';

/**
 * The relay on a sharded deployment: one loop per database of the shard map. Each shard's outbox
 * reaches the streams, every aggregate's events in version order, and a shard registered while the
 * relay runs is relayed from then on.
 */

let catalogue: OutboxDatabase;
const shards: OutboxDatabase[] = [];
let redis: RedisClient;

beforeAll(async () => {
  catalogue = await createOutboxDatabase('shard_relay');
  redis = connectRedis(testServices.redisUrl);
});

afterAll(async () => {
  redis.disconnect();
  await Promise.all([catalogue, ...shards].map((db) => db.drop()));
});

async function registeredShard(id: string): Promise<OutboxDatabase> {
  const shard = await createOutboxDatabase(`shard_relay_${id.replace(/-/g, '_')}`);
  shards.push(shard);
  await catalogue.pool.query(`INSERT INTO shards (id, database_url, region, state) VALUES ($1, $2, 'test', 'ACTIVE')`, [
    id,
    shard.url,
  ]);
  return shard;
}

it("publishes every shard's outbox, per aggregate in version order, including a shard registered while it runs", async () => {
  const stream = `test-shard-relay-${randomUUID()}`;
  const first = await registeredShard('shard-1');
  // Three aggregates per database, five versions each, appended version by version.
  for (const db of [catalogue, first]) {
    for (const batch of interleavedEvents('order', stream, 3, 5)) await appendEvents(db.pool, batch);
  }

  const stop = new AbortController();
  const relays = runShardRelays({
    catalogueUrl: catalogue.url,
    poolSize: 2,
    redis,
    settings: { ...loadConfig({}).relay, pollIntervalMs: 100 },
    logger: pino({ level: 'silent' }),
    signal: stop.signal,
    mapCheckMs: 100,
  });
  try {
    const second = await registeredShard('shard-2');
    for (const batch of interleavedEvents('order', stream, 3, 5)) await appendEvents(second.pool, batch);

    await waitUntil('every outbox published', 20_000, async () => (await readStream(redis, stream)).length === 45);
    const byAggregate = versionsByAggregate(await readStream(redis, stream));
    expect(byAggregate.size).toBe(9);
    for (const versions of byAggregate.values()) expect(versions).toEqual([1, 2, 3, 4, 5]);
    for (const db of [catalogue, first, second]) expect(await statusCounts(db.pool, stream)).toEqual({ PUBLISHED: 15 });
  } finally {
    stop.abort();
    await relays;
  }
});
