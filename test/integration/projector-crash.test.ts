import { randomUUID } from 'node:crypto';
import { createDatabase, type Database } from '../../platform/database';
import { loadConfig } from '../../platform/config';
import { projections } from '../../read-models/projections';
import { createCustomer, createSellerWithProducts } from '../support/catalogue';
import {
  appendOrderEvents,
  expectedOrderRows,
  lifecycle,
  normalized,
  normalizedEqual,
  readOrderRows,
  type HistoryLine,
  type Outcome,
} from '../support/order-history';
import {
  createOutboxDatabase,
  redisUrlOn,
  startRelayLoop,
  waitUntil,
  type InProcessRelay,
  type OutboxDatabase,
} from '../support/outbox';
import { freePort, startEntry, type LongRunning } from '../support/processes';
import { flushTestRedis, testRedis } from '../support/redis';

/**
 * The projector process killed with SIGKILL again and again while orders keep coming: every
 * read model still ends exactly as the events say, with no event lost and none applied twice.
 * Redis database 6 is this file's alone (it is flushed).
 */

const redisUrl = redisUrlOn(6);
let outbox: OutboxDatabase;
let db: Database;
let relay: InProcessRelay;
const projectors: LongRunning[] = [];

beforeAll(async () => {
  outbox = await createOutboxDatabase('projector_crash');
  db = createDatabase({ database: { url: outbox.url, poolSize: 4 } });
  const flush = testRedis(redisUrl);
  await flushTestRedis(flush);
  flush.disconnect();
  relay = startRelayLoop(outbox.url, redisUrl, loadConfig(process.env).relay);
});

afterAll(async () => {
  for (const p of projectors) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await relay.stop();
  await db.$disconnect();
  await outbox.drop();
});

async function startProjectorProcess(): Promise<LongRunning> {
  const projector = startEntry('scripts/projector.ts', {
    DATABASE_URL: outbox.url,
    REDIS_URL: redisUrl,
    PROJECTOR_METRICS_PORT: String(await freePort()),
    LOG_FORMAT: 'json',
  });
  projectors.push(projector);
  await projector.waitForOutput('projector started', 60_000);
  return projector;
}

it('ends every read model exactly as the events say after repeated SIGKILLs of the projector', async () => {
  const { seller, products } = await createSellerWithProducts(db, [{ name: 'Bench', priceMinor: 8_000, stock: 1_000 }]);
  const customer = await createCustomer(db);
  const lines: HistoryLine[] = [
    { productId: products[0]!.id, sellerId: seller.id, name: 'Bench', quantity: 1, unitPriceMinor: 8_000 },
  ];
  const outcomes: Outcome[] = ['delivered', 'failed', 'cancelled-after-payment', 'shipped', 'paid'];

  let projector = await startProjectorProcess();
  let writing = true;
  const writers = Array.from({ length: 2 }, async (_, w) => {
    for (let i = 0; writing || i < 5; i++) {
      const orderId = randomUUID();
      await appendOrderEvents(
        db,
        orderId,
        lifecycle(orderId, customer.id, lines, outcomes[(i + w) % outcomes.length]!),
      );
    }
  });
  let kills = 0;
  for (; kills < 3; kills++) {
    // Let it apply a little, then kill it in the middle of whatever it is doing.
    const applied = await appliedCount();
    await waitUntil('the projector to apply more', 30_000, async () => (await appliedCount()) > applied + 10);
    projector.child.kill('SIGKILL');
    expect(await projector.exited).toEqual({ code: null, signal: 'SIGKILL' });
    projector = await startProjectorProcess();
  }
  writing = false;
  await Promise.all(writers);

  await waitUntil('orders_read equal to the events', 60_000, async () =>
    normalizedEqual(await readOrderRows(db), await expectedOrderRows(db)),
  );
  expect(normalized(await readOrderRows(db))).toEqual(normalized(await expectedOrderRows(db)));
  // Every projection holds exactly the last version of every aggregate it follows.
  for (const projection of projections) {
    await waitUntil(`${projection.name} at every aggregate's last version`, 60_000, async () => {
      const [behind] = await db.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM (
           SELECT aggregate_id, max(version) AS version FROM domain_events
           WHERE aggregate_type = ANY($2::text[]) GROUP BY aggregate_id) e
         LEFT JOIN read_models.projection_positions p ON p.projection = $1 AND p.aggregate_id = e.aggregate_id
         WHERE p.version IS DISTINCT FROM e.version`,
        projection.name,
        [...projection.aggregateTypes],
      );
      return behind!.n === 0;
    });
  }
  // The seller's dashboard counts each order once, however often the projector died.
  const [dashboard] = await db.$queryRawUnsafe<{ total_orders: number }[]>(
    `SELECT total_orders FROM read_models.seller_dashboard_view WHERE seller_id = $1::uuid`,
    seller.id,
  );
  const orders = await db.domainEvent.count({ where: { aggregateType: 'order', eventType: 'OrderPlaced' } });
  expect(dashboard!.total_orders).toBe(orders);
  expect(kills).toBe(3);
  projector.child.kill('SIGTERM');
  expect((await projector.exited).code).toBe(0);
}, 240_000);

async function appliedCount(): Promise<number> {
  const [row] = await db.$queryRawUnsafe<{ n: number }[]>(
    `SELECT COALESCE(sum(events_applied), 0)::int AS n FROM read_models.projection_status`,
  );
  return row!.n;
}
