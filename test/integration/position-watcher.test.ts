import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createDatabase, type Database } from '../../platform/database';
import { startPositionWatcher, type PositionWatcher } from '../../read-models/projections/position-watcher';
import type { EventPosition } from '../../read-models/projections/projection';
import { sqlPoolOf } from '../../platform/sql-pool';
import { createOutboxDatabase, type OutboxDatabase } from '../support/outbox';

/**
 * Read-your-writes waits hear the projection's commits (a NOTIFY from a trigger on
 * read_models.projection_positions) instead of polling. The waiters' own safety look is set to
 * a minute here, so a wait that ends "reached" within the test was woken by the notification.
 */
let database: OutboxDatabase;
let db: Database;
let watcher: PositionWatcher;

beforeAll(async () => {
  database = await createOutboxDatabase('position_watcher');
  db = createDatabase({ database: { url: database.url, poolSize: 4 } });
  watcher = await startPositionWatcher(db, pino({ level: 'silent' }), { safetyCheckMs: 60_000 });
});

afterAll(async () => {
  await watcher.close();
  await db.$disconnect();
  await database.drop();
});

const position = (aggregateId: string, version: number): EventPosition => ({
  aggregateType: 'order',
  aggregateId,
  version,
});

async function applied(projection: string, aggregateId: string, version: number): Promise<void> {
  await database.pool.query(
    `INSERT INTO read_models.projection_positions (projection, aggregate_id, version) VALUES ($1, $2, $3)
     ON CONFLICT (projection, aggregate_id) DO UPDATE SET version = EXCLUDED.version`,
    [projection, aggregateId, version],
  );
}

describe('position watcher', () => {
  it('answers at once for a position already applied', async () => {
    const id = randomUUID();
    await applied('orders_read', id, 3);
    await expect(watcher.waitFor('orders_read', [position(id, 2)], 30_000)).resolves.toBe(true);
  });

  it('is woken by the commit that reaches every awaited position, not by an earlier one', async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    let settled = false;
    const wait = watcher.waitFor('orders_read', [position(first, 2), position(second, 2)], 30_000).then((reached) => {
      settled = true;
      return reached;
    });
    await applied('orders_read', first, 2);
    await applied('orders_read', second, 1); // one version short
    await applied('seller_dashboard', second, 9); // another projection's commit wakes no one
    expect(settled).toBe(false);
    const client = await database.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `UPDATE read_models.projection_positions SET version = 2 WHERE projection = 'orders_read' AND aggregate_id = $1`,
        [second],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await expect(wait).resolves.toBe(true);
  });

  it('ignores a version below the one awaited', async () => {
    const id = randomUUID();
    await applied('orders_read', id, 1);
    await expect(watcher.waitFor('orders_read', [position(id, 2)], 300)).resolves.toBe(false);
  });

  it('looks again when a statement moved too many positions to name them (a rebuild swap)', async () => {
    const awaited = randomUUID();
    const wait = watcher.waitFor('orders_read', [position(awaited, 1)], 30_000);
    await database.pool.query(
      `INSERT INTO read_models.projection_positions (projection, aggregate_id, version)
       SELECT 'orders_read', id, 1 FROM unnest($1::uuid[]) AS id`,
      [[awaited, ...Array.from({ length: 200 }, () => randomUUID())]],
    );
    await expect(wait).resolves.toBe(true);
  });
});

describe('position watcher: what it heard of answers without a query', () => {
  let ownDb: Database;
  let own: PositionWatcher;
  beforeAll(async () => {
    ownDb = createDatabase({ database: { url: database.url, poolSize: 2 } });
    own = await startPositionWatcher(ownDb, pino({ level: 'silent' }), { safetyCheckMs: 60_000 });
  });
  afterAll(async () => {
    await own.close();
    await ownDb.$disconnect().catch(() => undefined);
  });

  it('waits on an aggregate announced as new, and on versions it heard of, with its query pool gone', async () => {
    const announced = randomUUID();
    own.expectNew(announced);
    const first = own.waitFor('orders_read', [position(announced, 1)], 30_000);
    await applied('orders_read', announced, 1);
    await expect(first).resolves.toBe(true);

    // From here on, any wait that needed a query would fail.
    await sqlPoolOf(ownDb).end();
    await expect(own.waitFor('orders_read', [position(announced, 1)], 30_000)).resolves.toBe(true);
    const second = own.waitFor('orders_read', [position(announced, 2)], 30_000);
    await applied('orders_read', announced, 2);
    await expect(second).resolves.toBe(true);
    // (control) an aggregate it knows nothing of needs the query, which now fails.
    await expect(own.waitFor('orders_read', [position(randomUUID(), 1)], 30_000)).rejects.toThrow(/pool/i);
  });
});
