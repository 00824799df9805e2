import pino from 'pino';
import { pricingWarmUpStatement } from '../../api/orders/place-order';
import { warmUp } from '../../platform/warm-up';
import { createDatabase, type Database } from '../../platform/database';
import { createProcessShardRouter } from '../../platform/shards/router';
import { sqlPoolOf } from '../../platform/sql-pool';
import { createTemporalClient } from '../../platform/temporal';
import { testConfig } from '../support/platform';

/**
 * platform/warm-up.ts: the API and the worker open their connections and read the shard map before
 * they take work, and never fail to start for it.
 */
describe('process warm-up', () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    return { logger, lines };
  }

  /** Counts the router's map reads. */
  function shardRouter(db: Database, config: ReturnType<typeof testConfig>) {
    const router = createProcessShardRouter(db, config);
    const counted = { reads: 0, refresh: () => ((counted.reads += 1), router.refresh()), router };
    return counted;
  }

  it('opens the PostgreSQL pool and the Temporal connection, reads the shard map, and gives every connection back', async () => {
    const config = testConfig();
    const db = createDatabase(config);
    const temporal = createTemporalClient(config);
    const shards = shardRouter(db, config);
    const { logger, lines } = capture();
    try {
      await warmUp(
        { db, temporal, shards, logger },
        { connections: 4, timeoutMs: 10_000, statements: [pricingWarmUpStatement] },
      );

      expect(shards.reads).toBe(1);
      const pool = sqlPoolOf(db);
      expect(pool.totalCount).toBe(4);
      expect(pool.idleCount).toBe(4);
      // Every connection has the submit path's statement prepared.
      const clients = await Promise.all(Array.from({ length: 4 }, () => pool.connect()));
      try {
        const prepared = await Promise.all(
          clients.map(async (client) => (await client.query('SELECT name FROM pg_prepared_statements')).rows),
        );
        expect(prepared).toEqual(Array.from({ length: 4 }, () => [{ name: pricingWarmUpStatement.name }]));
      } finally {
        for (const client of clients) client.release();
      }
      expect(lines).toEqual([expect.objectContaining({ msg: 'warmed up', connections: 4 })]);
    } finally {
      await shards.router.close();
      await temporal.close();
      await db.$disconnect();
    }
  });

  it('gives up at its deadline when Temporal does not answer, says so, and still returns', async () => {
    const config = testConfig({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const db = createDatabase(config);
    const temporal = createTemporalClient(config);
    const shards = shardRouter(db, config);
    const { logger, lines } = capture();
    try {
      await warmUp({ db, temporal, shards, logger }, { connections: 2, timeoutMs: 1_000 });

      expect(lines).toEqual([
        expect.objectContaining({
          msg: 'warm-up incomplete; first requests connect',
          failures: [expect.stringMatching(/^temporal: /)],
        }),
      ]);
      // The database part was done all the same.
      expect(sqlPoolOf(db).idleCount).toBe(2);
      expect(shards.reads).toBe(1);
    } finally {
      await shards.router.close();
      await temporal.close().catch(() => undefined);
      await db.$disconnect();
    }
  });

  it('names the shard map among what it could not do when the map cannot be read, and still returns', async () => {
    const config = testConfig();
    const db = createDatabase(config);
    const temporal = createTemporalClient(config);
    const router = createProcessShardRouter(db, config);
    await router.close(); // a closed router refuses to read the map
    const { logger, lines } = capture();
    try {
      await warmUp({ db, temporal, shards: router, logger }, { connections: 2, timeoutMs: 10_000 });

      expect(lines).toEqual([
        expect.objectContaining({
          msg: 'warm-up incomplete; first requests connect',
          failures: ['shard map: Error: the shard router is closed'],
        }),
      ]);
    } finally {
      await temporal.close();
      await db.$disconnect();
    }
  });

  it('runs the rehearsal once per connection, all at once, when the connections are open', async () => {
    const config = testConfig();
    const db = createDatabase(config);
    const temporal = createTemporalClient(config);
    const shards = shardRouter(db, config);
    const { logger, lines } = capture();
    const openWhenRehearsed: number[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const rehearsal = async (): Promise<void> => {
      openWhenRehearsed.push(sqlPoolOf(db).totalCount);
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
    };
    try {
      await warmUp({ db, temporal, shards, logger }, { connections: 3, timeoutMs: 10_000, rehearsal });

      expect(openWhenRehearsed).toEqual([3, 3, 3]);
      expect(mostAtOnce).toBe(3);
      expect(lines).toEqual([expect.objectContaining({ msg: 'warmed up' })]);
    } finally {
      await shards.router.close();
      await temporal.close();
      await db.$disconnect();
    }
  });

  it('names a failed rehearsal among what it could not do, and still returns', async () => {
    const config = testConfig();
    const db = createDatabase(config);
    const shards = shardRouter(db, config);
    const { logger, lines } = capture();
    try {
      await warmUp(
        { db, shards, logger },
        { connections: 2, timeoutMs: 10_000, rehearsal: () => Promise.reject(new Error('no such table')) },
      );

      expect(lines).toEqual([
        expect.objectContaining({
          msg: 'warm-up incomplete; first requests connect',
          failures: ['rehearsal: Error: no such table'],
        }),
      ]);
    } finally {
      await shards.router.close();
      await db.$disconnect();
    }
  });

  it('warms a process that starts no workflows (the worker) without a Temporal client', async () => {
    const config = testConfig();
    const db = createDatabase(config);
    const shards = shardRouter(db, config);
    const { logger, lines } = capture();
    try {
      await warmUp({ db, shards, logger }, { connections: 3, timeoutMs: 10_000 });

      expect(shards.reads).toBe(1);
      expect(sqlPoolOf(db).idleCount).toBe(3);
      expect(lines).toEqual([expect.objectContaining({ msg: 'warmed up', connections: 3 })]);
    } finally {
      await shards.router.close();
      await db.$disconnect();
    }
  });
});
