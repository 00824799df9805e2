import { randomUUID } from 'node:crypto';
import { createProduct } from '../../catalogue/product-store';
import { HashRing } from '../../domain/sharding/hash-ring';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import { ringHash } from '../../platform/shards/ring-hash';
import type { ShardRouter } from '../../platform/shards/router';
import { projections } from '../../read-models/projections';
import { rebuildProjection } from '../../read-models/projections/rebuild';
import { createSeller } from '../support/catalogue';
import { appendOrderEvents, lifecycle, type HistoryLine, type Outcome } from '../support/order-history';
import { redisUrlOn } from '../support/outbox';
import type { PostgresServer } from '../support/postgres-server';
import {
  awaitReadModels,
  compareReadModels,
  shardedReadSide,
  type ShardedReadSide,
} from '../support/shard-read-models';
import { createShardWorld, startServerShards, type ShardWorld } from '../support/shards';
import { flushTestRedis, testRedis } from '../support/redis';

/**
 * Read models from every shard: customers on two shards (each a PostgreSQL server of its own)
 * place orders whose events are written on their shard only; products and sellers are in the
 * catalogue database, which is also the read database. The relay publishes every database's
 * outbox, the projector reads every shard's events, and orders_read, the seller dashboards and
 * product search end up equal to a fold of every shard's events: caught up at start-up, live from
 * the streams (also for an order whose first entries never reached a stream), and rebuilt.
 * Redis database 11 is this file's alone (it is flushed).
 */

const redisUrl = redisUrlOn(11);
const SHARDS = ['shard-1', 'shard-2'] as const;
let world: ShardWorld;
const servers: PostgresServer[] = [];
let router: ShardRouter;
let shardDbs: Record<string, Database>;
let readSide: ShardedReadSide;
let customersByShard: Record<string, string[]>;
let lines: HistoryLine[][];

beforeAll(async () => {
  world = await createShardWorld('shard_projections');
  servers.push(...(await startServerShards(world, SHARDS)));
  router = world.router({ maxStalenessMs: 0 });
  shardDbs = Object.fromEntries(await Promise.all(SHARDS.map(async (id) => [id, await router.database(id)])));

  // Two sellers with products in the catalogue, created through the product store (with their events).
  const sellers = [await createSeller(world.catalogue), await createSeller(world.catalogue)];
  const product = async (sellerId: string, name: string, priceMinor: number) => {
    const { product: created } = await createProduct(world.catalogue, {
      sellerId,
      sku: `SKU-${randomUUID().slice(0, 8)}`,
      name,
      description: `${name} for the shard tests`,
      categoryPath: 'test/shards',
      priceMinor,
      currency: 'EUR',
      stock: 1_000,
      active: true,
    });
    return { productId: created.productId, sellerId, name, priceMinor };
  };
  const chair = await product(sellers[0]!.id, 'Oak chair', 4_999);
  const lamp = await product(sellers[0]!.id, 'Lamp', 1_500);
  const kettle = await product(sellers[1]!.id, 'Kettle', 2_500);
  const line = (p: typeof chair, quantity: number): HistoryLine => ({
    productId: p.productId,
    sellerId: p.sellerId,
    name: p.name,
    quantity,
    unitPriceMinor: p.priceMinor,
  });
  lines = [[line(chair, 2), line(kettle, 1)], [line(lamp, 3)], [line(kettle, 1), line(lamp, 1)]];

  // Three customers on each shard, each on the shard the ring gives them.
  const ring = new HashRing([...SHARDS], { hash: ringHash });
  customersByShard = { 'shard-1': [], 'shard-2': [] };
  for (let i = 0; customersByShard['shard-1']!.length < 3 || customersByShard['shard-2']!.length < 3; i++) {
    const id = randomUUID();
    const shard = ring.shardOf(customerPartitionKey(id));
    if (customersByShard[shard]!.length >= 3) continue;
    await shardDbs[shard]!.customer.create({
      data: { id, name: `Customer ${i} of ${shard}`, email: `c${i}-${id}@shards.example` },
    });
    customersByShard[shard]!.push(id);
  }

  const flush = testRedis(redisUrl);
  await flushTestRedis(flush);
  flush.disconnect();
  readSide = shardedReadSide({ catalogue: world.catalogue, catalogueUrl: world.catalogueUrl, router, redisUrl });
}, 120_000);

afterAll(async () => {
  await readSide?.stop();
  await world?.end();
  await Promise.all(servers.map((server) => server.stop()));
});

const outcomes: Outcome[] = ['placed', 'paid', 'shipped', 'delivered', 'failed', 'cancelled-after-payment'];
let placedCount = 0;

/** `perCustomer` orders for every customer, each written on the customer's shard as the saga writes it. */
async function placeOrders(perCustomer: number): Promise<void> {
  for (const [shard, customerIds] of Object.entries(customersByShard)) {
    for (const customerId of customerIds) {
      for (let i = 0; i < perCustomer; i++) {
        const orderId = randomUUID();
        const n = placedCount++;
        await appendOrderEvents(
          shardDbs[shard]!,
          orderId,
          lifecycle(orderId, customerId, lines[n % lines.length]!, outcomes[n % outcomes.length]!),
        );
      }
    }
  }
}

async function expectReadModelsEqualTheFold(): Promise<void> {
  const { expected, actual } = await awaitReadModels(world.catalogue, Object.values(shardDbs), 30_000);
  expect(actual).toEqual(expected);
}

it('builds every read model from both shards: caught up, live, across lost entries, and rebuilt', async () => {
  // Orders on both shards before the projector runs: the start-up catch-up reads each shard's store.
  await placeOrders(2);
  expect(await world.catalogue.domainEvent.count({ where: { aggregateType: 'order' } })).toBe(0);
  await readSide.startProjector();
  await expectReadModelsEqualTheFold();
  const { orders, sellers, sales } = (await compareReadModels(world.catalogue, Object.values(shardDbs))).actual;
  expect(Object.keys(orders)).toHaveLength(12);
  expect(Object.keys(sellers)).toHaveLength(2);
  expect(Object.values(sales).filter((units) => units > 0)).toHaveLength(3);
  // Names come from the customer's shard.
  expect(
    Object.values(orders).every((row) =>
      /^Customer \d+ of shard-[12]$/.test((row as { customer_name: string }).customer_name),
    ),
  ).toBe(true);

  // Live: the relay publishes both shards' outboxes; the projector reads each order on its shard.
  readSide.startRelay();
  await placeOrders(2);
  await expectReadModelsEqualTheFold();

  // An order whose first three entries never reached a stream (published rows, as after Redis lost
  // them): the fourth names neither its customer nor its shard, and the projector finds the order.
  const shard2 = shardDbs['shard-2']!;
  const lostOrder = randomUUID();
  const history = lifecycle(lostOrder, customersByShard['shard-2']![0]!, lines[0]!, 'delivered');
  await readSide.stopRelay();
  await appendOrderEvents(shard2, lostOrder, history.slice(0, 3));
  await shard2.outboxEvent.updateMany({
    where: { aggregateId: lostOrder },
    data: { status: 'PUBLISHED', publishedAt: new Date() },
  });
  readSide.startRelay();
  await appendOrderEvents(shard2, lostOrder, history.slice(3), 'late');
  await expectReadModelsEqualTheFold();
  const [lost] = await world.catalogue.$queryRawUnsafe<{ version: number; status: string }[]>(
    `SELECT version, status FROM read_models.orders_read WHERE order_id = $1::uuid`,
    lostOrder,
  );
  expect(lost).toEqual({ version: history.length, status: 'DELIVERED' });
  // The positions now remember where the order is.
  const keys = await world.catalogue.$queryRawUnsafe<{ partition_key: string }[]>(
    `SELECT DISTINCT partition_key FROM read_models.projection_positions WHERE aggregate_id = $1::uuid`,
    lostOrder,
  );
  expect(keys).toEqual([{ partition_key: customerPartitionKey(customersByShard['shard-2']![0]!) }]);

  // A rebuild of every read model from both shards, while orders keep coming, ends where the fold is.
  const writing = placeOrders(1);
  for (const projection of projections) {
    await rebuildProjection({
      db: world.catalogue,
      projection,
      batchSize: 7,
      shards: { router, readDb: world.catalogue },
    });
  }
  await writing;
  await expectReadModelsEqualTheFold();
}, 180_000);
