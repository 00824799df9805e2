import type { WorkflowHandle } from '@temporalio/client';
import { HashRing } from '../../domain/sharding/hash-ring';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import { databaseName } from '../../platform/postgres-admin';
import { ringHash } from '../../platform/shards/ring-hash';
import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import { rebalanceWorkflowId, type RebalanceResult } from '../../workflows/rebalance/rebalance-contract';
import type { OrderWorkflowResult } from '../../workflows/orders/order-contract';
import { orderInput, seedProduct, seedSeller, startOrder, type SeededProduct } from '../support/order-fixtures';
import { startWorker, testConfig, type RunningWorker } from '../support/platform';
import { createRebalanceWorld, SHARD_IDS, type RebalanceWorld } from '../support/rebalance-world';
import { redisUrlOn } from '../support/outbox';
import { awaitReadModels, shardedReadSide, type ShardedReadSide } from '../support/shard-read-models';
import { isGapFree, type CustomerLedger } from '../support/shard-rows';
import type { Config } from '../../platform/config';
import { flushTestRedis, testRedis } from '../support/redis';

/**
 * Rebalancing 2 -> 3 shards while orders keep coming: 50 customers on two ACTIVE shards (each a
 * PostgreSQL server of its own) place real orders through the saga, round robin, several a
 * second, before and during the rebalance. Orders of a customer being moved meet the fence and
 * are retried (activities) until the customer is on their new shard. Afterwards every order has
 * completed exactly once, every customer's rows are on exactly one shard (the ring's), their counts
 * and money are what was there plus what they ordered, and every order's events are gap-free.
 * Meanwhile the relay publishes every shard's outbox and the projector reads every shard: the read
 * models (orders_read, seller dashboards, product search) end equal to a fold of every shard's
 * events. Redis database 4 is this file's streams' alone (it is flushed).
 */

const redisUrl = redisUrlOn(4);

let world: RebalanceWorld;
let worker: RunningWorker;
let temporal: TemporalClient;
let config: Config;
let product: SeededProduct;
let before: Map<string, CustomerLedger>;
let readSide: ShardedReadSide;

beforeAll(async () => {
  world = await createRebalanceWorld('rebalance_load', { customers: 50 });
  before = await world.ledgers();
  const catalogue = world.shardWorld.catalogue;
  product = await seedProduct(catalogue, await seedSeller(catalogue), { priceMinor: 1999, stock: 10_000 });
  config = testConfig({ DATABASE_URL: world.shardWorld.catalogueUrl });
  worker = await startWorker(config);
  temporal = createTemporalClient(config);
  const flush = testRedis(redisUrl);
  await flushTestRedis(flush);
  flush.disconnect();
  // A router as a projector process has one: its map up to a second old.
  readSide = shardedReadSide({
    catalogue,
    catalogueUrl: world.shardWorld.catalogueUrl,
    router: world.shardWorld.router(),
    redisUrl,
  });
  await readSide.startProjector();
  readSide.startRelay();
}, 180_000);

afterAll(async () => {
  await readSide?.stop();
  await worker?.stop();
  await temporal?.close();
  await world?.end();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('ends with every order completed once and every customer whole on the shard the ring gives them', async () => {
  const placed = new Map<string, { customerId: string; totalMinor: number; handle: WorkflowHandle }>();
  let loadRunning = true;
  // A steady load: one order every 150 ms, the 50 customers in turn.
  const load = (async () => {
    for (let i = 0; loadRunning; i++) {
      const customerId = world.customerIds[i % world.customerIds.length]!;
      // Orders end once shipped: the delivery wait times out at once (nothing here reports deliveries).
      const input = orderInput(customerId, [product], [{ productId: product.id, quantity: 1 }], {
        deliveryTimeoutMs: 1,
      });
      const handle = await startOrder(temporal, config, input);
      placed.set(input.orderId, { customerId, totalMinor: input.order.totalMinor, handle });
      await sleep(150);
    }
  })();

  await sleep(2_000);
  const rebalance = await temporal.client.workflow.start('rebalanceWorkflow', {
    workflowId: rebalanceWorkflowId(databaseName(world.shardWorld.catalogueUrl)),
    taskQueue: config.temporal.taskQueue,
    // Every router here listens for map changes; a second covers one that does not (its staleness).
    args: [{ fenceSettleMs: 1_000 }],
  });
  const result: RebalanceResult = await rebalance.result();
  await sleep(1_000);
  loadRunning = false;
  await load;

  const ring = new HashRing(SHARD_IDS, { hash: ringHash });
  const moving = world.customerIds.filter((id) => ring.shardOf(customerPartitionKey(id)) === 'shard-3');
  expect(result).toMatchObject({ phase: 'completed', moved: moving.length, failed: [] });
  expect(placed.size).toBeGreaterThan(100);

  // Every order completed once, shipped.
  const outcomes = await Promise.all([...placed.values()].map(({ handle }) => handle.result()));
  const statuses = outcomes.map((outcome: OrderWorkflowResult) => outcome.status);
  expect(new Set(statuses)).toEqual(new Set(['SHIPPED']));

  const ordered = new Map<string, { orders: number; money: bigint }>();
  for (const { customerId, totalMinor } of placed.values()) {
    const sums = ordered.get(customerId) ?? { orders: 0, money: 0n };
    ordered.set(customerId, { orders: sums.orders + 1, money: sums.money + BigInt(totalMinor) });
  }
  const after = await world.ledgers();
  for (const customerId of world.customerIds) {
    const was = before.get(customerId)!;
    const now = after.get(customerId)!;
    const mine = ordered.get(customerId) ?? { orders: 0, money: 0n };
    expect({ customerId, shards: now.shards }).toEqual({
      customerId,
      shards: [ring.shardOf(customerPartitionKey(customerId))],
    });
    // One row of each per order: order, line, payment, shipment; four events (placed, reserved, paid, shipped).
    expect({ customerId, rows: now.rows }).toEqual({
      customerId,
      rows: {
        ...was.rows,
        orders: was.rows['orders']! + mine.orders,
        order_lines: was.rows['order_lines']! + mine.orders,
        payments: was.rows['payments']! + mine.orders,
        shipments: was.rows['shipments']! + mine.orders,
        domain_events: was.rows['domain_events']! + 4 * mine.orders,
        outbox_events: was.rows['outbox_events']! + 4 * mine.orders,
      },
    });
    expect({ customerId, money: now.money }).toEqual({
      customerId,
      money: {
        ...was.money,
        order_totals: (BigInt(was.money['order_totals']!) + mine.money).toString(),
        line_totals: (BigInt(was.money['line_totals']!) + mine.money).toString(),
        payments: (BigInt(was.money['payments']!) + mine.money).toString(),
      },
    });
    for (const versions of Object.values(now.eventVersions)) expect(isGapFree(versions)).toBe(true);
  }
  // Nothing of the orders in the catalogue database but their stock.
  const catalogue = world.shardWorld.catalogue;
  expect(await catalogue.order.count()).toBe(0);
  expect(await catalogue.reservation.count({ where: { productId: product.id, status: 'CONSUMED' } })).toBe(placed.size);
  expect(await catalogue.inventory.findUnique({ where: { productId: product.id } })).toMatchObject({
    onHand: 10_000 - placed.size,
    reserved: 0,
  });

  // The read models, fed by every shard's outbox through the streams, equal a fold of the events.
  const { expected, actual } = await awaitReadModels(catalogue, Object.values(await world.databases()), 90_000);
  expect(actual).toEqual(expected);
  expect(Object.keys(actual.orders)).toHaveLength(
    placed.size + [...before.values()].reduce((n, l) => n + l.rows['orders']!, 0),
  );
  for (const orderId of placed.keys()) {
    expect({ orderId, status: (actual.orders[orderId] as { status: string } | undefined)?.status }).toEqual({
      orderId,
      status: 'SHIPPED',
    });
  }
}, 420_000);
