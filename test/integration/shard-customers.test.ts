import { randomUUID } from 'node:crypto';
import { ApiKeyError, createApiKey, createApiKeyAuthenticator } from '../../access/api-keys';
import { createRebalanceActivities } from '../../activities/rebalance/rebalance';
import {
  AlreadyReviewed,
  NotABuyer,
  reviewProduct,
  UnknownCustomer,
  createProduct,
} from '../../catalogue/product-store';
import { seedCatalogue } from '../../catalogue/seed';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import { migrate } from '../../platform/migrations';
import { ensureDatabase } from '../../platform/postgres-admin';
import type { ShardRouter } from '../../platform/shards/router';
import { registerShard } from '../../platform/shards/shard-map';
import { abandonMove, fenceMove, pinMovesAndActivate } from '../../platform/shards/shard-moves';
import { createSeller } from '../support/catalogue';
import type { HistoryLine } from '../support/order-history';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';
import { writeOrder } from '../support/shard-orders';
import { createShardWorld, type ShardWorld } from '../support/shards';

/**
 * Customers live on their shard: the catalogue's own uses of a customer (a customer API key, the
 * "bought it" check of a review, the seed) find them through the shard router by
 * `customer:{customerId}`, never in the catalogue database. The catalogue database is registered
 * as shard-0 (as in production) and shard-1 is a PostgreSQL server of its own, so customers land
 * on both.
 */

let world: ShardWorld;
let server: PostgresServer;
let router: ShardRouter;
let shards: Record<'shard-0' | 'shard-1', Database>;
let line: HistoryLine;

beforeAll(async () => {
  world = await createShardWorld('shard_customers');
  server = await startPostgresServer();
  const url = server.url('shopflow');
  await ensureDatabase(url);
  await migrate(url);
  await registerShard(world.catalogue, {
    id: 'shard-0',
    databaseUrl: world.catalogueUrl,
    region: 'local',
    state: 'ACTIVE',
  });
  await registerShard(world.catalogue, { id: 'shard-1', databaseUrl: url, region: 'local', state: 'ACTIVE' });
  router = world.router({ maxStalenessMs: 0 });
  shards = { 'shard-0': world.catalogue, 'shard-1': await router.database('shard-1') };

  const seller = await createSeller(world.catalogue);
  const { product } = await createProduct(world.catalogue, {
    sellerId: seller.id,
    sku: `SKU-${randomUUID().slice(0, 8)}`,
    name: 'Kettle',
    description: 'for the customers on shards',
    categoryPath: 'test/shards',
    priceMinor: 2_500,
    currency: 'EUR',
    stock: 100,
    active: true,
  });
  line = { productId: product.productId, sellerId: seller.id, name: 'Kettle', quantity: 1, unitPriceMinor: 2_500 };
}, 120_000);

afterAll(async () => {
  await world?.end();
  await server?.stop();
});

/** A new customer whom the ring places on `shard`, written there. */
async function customerOn(shard: keyof typeof shards): Promise<string> {
  for (;;) {
    const id = randomUUID();
    if ((await router.shardFor(customerPartitionKey(id))).shardId !== shard) continue;
    await shards[shard].customer.create({ data: { id, name: `Customer of ${shard}`, email: `${id}@customers.test` } });
    return id;
  }
}

describe('a customer API key', () => {
  it('is created for a customer on another shard, with the caller router or one of its own', async () => {
    const customerId = await customerOn('shard-1');
    expect(await world.catalogue.customer.count({ where: { id: customerId } })).toBe(0);

    const viaRouter = await createApiKey(
      world.catalogue,
      { role: 'customer', customerId, name: 'a' },
      { shards: router },
    );
    const ownRouter = await createApiKey(world.catalogue, { role: 'customer', customerId, name: 'b' });

    const authenticator = createApiKeyAuthenticator(world.catalogue, { cacheTtlMs: 0 });
    for (const { key } of [viaRouter, ownRouter]) {
      expect(await authenticator.authenticate(key)).toMatchObject({ role: 'customer', customerId });
    }
  });

  it('is created for a customer on the catalogue database as before', async () => {
    const customerId = await customerOn('shard-0');
    const { record } = await createApiKey(world.catalogue, { role: 'customer', customerId, name: 'c' });
    expect(record.customerId).toBe(customerId);
  });

  it('is refused for a customer on no shard, and for one being moved', async () => {
    const unknown = randomUUID();
    await expect(createApiKey(world.catalogue, { role: 'customer', customerId: unknown, name: 'x' })).rejects.toThrow(
      new ApiKeyError(`customer ${unknown} does not exist`),
    );

    const moving = await customerOn('shard-1');
    const key = customerPartitionKey(moving);
    await pinMovesAndActivate(world.catalogue, {
      rebalanceId: 'test',
      moves: [{ partitionKey: key, sourceShardId: 'shard-1', targetShardId: 'shard-0' }],
      activate: [],
    });
    await fenceMove(world.catalogue, key);
    const before = await world.catalogue.apiKey.count();
    await expect(createApiKey(world.catalogue, { role: 'customer', customerId: moving, name: 'y' })).rejects.toThrow(
      /is being moved to another shard: try again in \d+ s/,
    );
    expect(await world.catalogue.apiKey.count()).toBe(before);
    await abandonMove(world.catalogue, key);
  });
});

describe('a review', () => {
  it('is accepted from a customer on another shard whose order of the product was shipped', async () => {
    const customerId = await customerOn('shard-1');
    await writeOrder(shards['shard-1'], customerId, [line], 'shipped');

    const result = await reviewProduct(world.catalogue, line.productId, { customerId, rating: 4, body: 'boils fast' });

    expect(result.review).toMatchObject({ productId: line.productId, customerId, rating: 4 });
    expect(await world.catalogue.productReview.count({ where: { customerId } })).toBe(1);
    expect(await world.catalogue.order.count({ where: { customerId } })).toBe(0);
  });

  it('is refused from a customer on another shard who did not buy, and from one on no shard', async () => {
    const placedOnly = await customerOn('shard-1');
    await writeOrder(shards['shard-1'], placedOnly, [line], 'paid');
    const unknown = randomUUID();

    await expect(
      reviewProduct(
        world.catalogue,
        line.productId,
        { customerId: placedOnly, rating: 5, body: 'x' },
        { shards: router },
      ),
    ).rejects.toBeInstanceOf(NotABuyer);
    await expect(
      reviewProduct(world.catalogue, line.productId, { customerId: unknown, rating: 5, body: 'x' }),
    ).rejects.toBeInstanceOf(UnknownCustomer);
    expect(await world.catalogue.productReview.count({ where: { customerId: { in: [placedOnly, unknown] } } })).toBe(0);
  });

  it('is accepted from a customer on the catalogue database, checked in its own transaction as before', async () => {
    const customerId = await customerOn('shard-0');
    await writeOrder(shards['shard-0'], customerId, [line], 'delivered');

    const result = await reviewProduct(world.catalogue, line.productId, { customerId, rating: 5, body: 'great' });
    expect(result.review.customerId).toBe(customerId);
  });
});

describe('the seed', () => {
  it('writes each customer and their address on the customer shard, once', async () => {
    const options = { sellers: 2, products: 6, customers: 40, maxStock: 5, currency: 'EUR', seed: 7 };

    const first = await seedCatalogue(world.catalogue, options);

    expect(first.customers).toBe(40);
    const seeded = { where: { email: { endsWith: '@customers.example' } } };
    const placed: Record<string, string[]> = { 'shard-0': [], 'shard-1': [] };
    for (const [id, db] of Object.entries(shards)) {
      for (const { id: customerId } of await db.customer.findMany({ ...seeded, select: { id: true } })) {
        expect((await router.shardFor(customerPartitionKey(customerId))).shardId).toBe(id);
        placed[id]!.push(customerId);
      }
      expect(await db.customerAddress.count({ where: { customerId: { in: placed[id] } } })).toBe(placed[id]!.length);
    }
    expect(placed['shard-0']!.length + placed['shard-1']!.length).toBe(40);
    expect(placed['shard-1']!.length).toBeGreaterThan(0);
    expect(placed['shard-0']!.length).toBeGreaterThan(0);

    const again = await seedCatalogue(world.catalogue, options, undefined, router);
    expect(again).toMatchObject({ sellers: 0, products: 0, customers: 0 });
  });
});

describe('a rebalance', () => {
  it('moves a customer whose API key and review stay in the catalogue, and both keep working', async () => {
    const customerId = await customerOn('shard-0');
    await writeOrder(shards['shard-0'], customerId, [line], 'delivered');
    const { key } = await createApiKey(world.catalogue, { role: 'customer', customerId, name: 'moving' });
    await reviewProduct(world.catalogue, line.productId, { customerId, rating: 3, body: 'fine' });
    const partitionKey = customerPartitionKey(customerId);
    await pinMovesAndActivate(world.catalogue, {
      rebalanceId: 'test-move',
      moves: [{ partitionKey, sourceShardId: 'shard-0', targetShardId: 'shard-1' }],
      activate: [],
    });
    const steps = createRebalanceActivities({ db: world.catalogue, shards: router });

    await steps.fenceMove({ partitionKey });
    await router.refresh();
    expect(await steps.copyMove({ partitionKey })).toMatchObject({ rows: expect.any(Number) });
    expect(await steps.verifyMove({ partitionKey })).toMatchObject({ equal: true });
    await steps.flipMove({ partitionKey });
    expect(await steps.deleteMoveSource({ partitionKey })).toMatchObject({ deleted: true });
    await steps.unfenceMove({ partitionKey });

    expect(await world.catalogue.customer.count({ where: { id: customerId } })).toBe(0);
    expect(await shards['shard-1'].customer.count({ where: { id: customerId } })).toBe(1);
    const authenticator = createApiKeyAuthenticator(world.catalogue, { cacheTtlMs: 0 });
    expect(await authenticator.authenticate(key)).toMatchObject({ role: 'customer', customerId });
    expect(await world.catalogue.productReview.count({ where: { customerId } })).toBe(1);
    // Found on their new shard: another key, and the purchase behind another review.
    await createApiKey(world.catalogue, { role: 'customer', customerId, name: 'moved' }, { shards: router });
    await expect(
      reviewProduct(world.catalogue, line.productId, { customerId, rating: 4, body: 'again' }, { shards: router }),
    ).rejects.toBeInstanceOf(AlreadyReviewed);
  });
});
