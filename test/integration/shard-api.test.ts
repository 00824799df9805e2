import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import { registerShard } from '../../platform/shards/shard-map';
import { fenceMove, pinMovesAndActivate } from '../../platform/shards/shard-moves';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import { eventually, startApi, testConfig, type TestPlatform } from '../support/platform';
import { createShardWorld, type ShardWorld } from '../support/shards';

/**
 * The order API on a sharded deployment: a customer who lives on a shard of their own places an
 * order (their request's idempotency key is kept on their shard), and while the customer is being
 * moved their requests are answered 503 with Retry-After, as problem+json, never a lost or doubled
 * order.
 */

let world: ShardWorld;
let shard: Database;
let api: TestPlatform;

beforeAll(async () => {
  world = await createShardWorld('api');
  const shardUrl = await world.database('shard1', { migrated: true });
  await registerShard(world.catalogue, { id: 'shard-1', databaseUrl: shardUrl, region: 'test', state: 'ACTIVE' });
  // Where a moved customer would go: registered, not yet on the ring.
  await registerShard(world.catalogue, {
    id: 'shard-2',
    databaseUrl: await world.database('shard2', { migrated: true }),
    region: 'test',
  });
  shard = await world.router().database('shard-1');
  api = await startApi(testConfig({ DATABASE_URL: world.catalogueUrl }));
});

afterAll(async () => {
  await api?.close();
  await world?.end();
});

const placeOrder = (customerId: string, productId: string, key = `test-${randomUUID()}`) =>
  request(api.app)
    .post('/v1/orders')
    .set('Idempotency-Key', key)
    .send(orderRequestBody(customerId, [{ productId, quantity: 1 }]));

it("accepts a shard's customer's order and keeps the request's key on the customer's shard", async () => {
  const customer = await createCustomer(shard);
  const { products } = await createSellerWithProducts(world.catalogue, [{ stock: 3 }]);
  const key = `test-${randomUUID()}`;

  const accepted = await placeOrder(customer.id, products[0]!.id, key).expect(202);
  const replayed = await placeOrder(customer.id, products[0]!.id, key).expect(202);

  expect(replayed.body).toEqual(accepted.body);
  expect(await shard.idempotencyKey.count({ where: { key } })).toBe(1);
  expect(await world.catalogue.idempotencyKey.count({ where: { key } })).toBe(0);
});

it('answers 503 with Retry-After while the customer is being moved, and accepts the order once the move is done', async () => {
  const customer = await createCustomer(shard);
  const { products } = await createSellerWithProducts(world.catalogue, [{ stock: 3 }]);
  const partitionKey = customerPartitionKey(customer.id);
  await pinMovesAndActivate(world.catalogue, {
    rebalanceId: 'test',
    moves: [{ partitionKey, sourceShardId: 'shard-1', targetShardId: 'shard-2' }],
    activate: [],
  });
  await fenceMove(world.catalogue, partitionKey);

  // The API's router sees the fence within its staleness bound.
  const refused = await eventually(async () => {
    const res = await placeOrder(customer.id, products[0]!.id);
    return res.status === 503 ? res : undefined;
  }, 5_000);
  expect(refused.headers['retry-after']).toBe('1');
  expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(refused.body).toMatchObject({ status: 503, type: 'https://shopflow.dev/problems/customer-moving' });

  await world.catalogue.shardMove.delete({ where: { partitionKey } });
  await world.catalogue.shardMap.update({ where: { id: true }, data: { version: { increment: 1 } } });
  await eventually(
    async () => ((await placeOrder(customer.id, products[0]!.id)).status === 202 ? true : undefined),
    5_000,
  );
});
