import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { orderWorkflowId } from '../../domain/ids';
import { OrderFailureType } from '../../domain/order-errors';
import type { Database } from '../../platform/database';
import { createRedis, type RedisClient } from '../../platform/redis';
import { registerShard } from '../../platform/shards/shard-map';
import type { OrderWorkflowInput } from '../../workflows/orders/order-contract';
import { createProviders } from '../../worker/providers';
import {
  orderInput,
  seedCustomer,
  seedProduct,
  seedSeller,
  stockOf,
  type SeededProduct,
} from '../support/order-fixtures';
import { testConfig } from '../support/platform';
import { createShardWorld, type ShardWorld } from '../support/shards';

/**
 * A customer on a shard of their own: their order's rows are there, the stock the order holds is in
 * the catalogue database. Steps that change both commit twice, stock first. The worker dying
 * between the two commits (the `betweenCommits` hook throws, as a SIGKILL would end the attempt
 * there) and Temporal retrying the step must leave nothing lost and nothing doubled: stock held
 * once, the order's status and events recorded once, versions without gaps.
 */

let world: ShardWorld;
let shard: Database;
let redis: RedisClient;
/** The steps whose next run "dies" between its two commits. */
const dieBetweenCommits = new Set<string>();
let activities: ReturnType<typeof createActivities>;

beforeAll(async () => {
  world = await createShardWorld('saga_crash');
  const shardUrl = await world.database('shard1', { migrated: true });
  // The only ACTIVE shard owns every customer: the catalogue keeps the stock, the shard the orders.
  await registerShard(world.catalogue, { id: 'shard-1', databaseUrl: shardUrl, region: 'test', state: 'ACTIVE' });
  const router = world.router({ maxStalenessMs: 0 });
  shard = await router.database('shard-1');
  const config = testConfig();
  redis = createRedis(config, 'shopflow-test-shard-saga-crash');
  await redis.connect();
  activities = createActivities({
    db: world.catalogue,
    redis,
    shards: router,
    ...createProviders(config, redis),
    betweenCommits: (step) => {
      if (!dieBetweenCommits.delete(step)) return Promise.resolve();
      return Promise.reject(new Error(`worker killed between the commits of ${step}`));
    },
  });
});

afterAll(async () => {
  redis?.disconnect();
  await world?.end();
});

/** An order of 4 units of a product with 9 in stock, by a customer who lives on the shard. */
async function givenAnOrder(): Promise<{ input: OrderWorkflowInput; product: SeededProduct }> {
  const product = await seedProduct(world.catalogue, await seedSeller(world.catalogue), { stock: 9, priceMinor: 700 });
  const input = orderInput(await seedCustomer(shard), [product], [{ productId: product.id, quantity: 4 }]);
  return { input, product };
}

/** Each step of the saga (forward, then compensations), with the customer in its input as the workflow sends it. */
function sagaSteps({ orderId, customerId, order, shippingAddress, payment }: OrderWorkflowInput) {
  const workflowId = orderWorkflowId(orderId);
  const lines = order.lines.map(({ productId, quantity }) => ({ productId, quantity }));
  const sellers = order.sellers.map((s) => ({
    sellerId: s.sellerId,
    idempotencyKey: `${workflowId}:create-shipment:${s.sellerId}`,
  }));
  return {
    recordAndReserve: () =>
      activities.recordOrderAndReserveInventory({ orderId, workflowId, customerId, order, shippingAddress, lines }),
    charge: () =>
      activities.chargePayment({
        orderId,
        customerId,
        amountMinor: order.totalMinor,
        currency: order.currency,
        token: payment.token,
        idempotencyKey: `${workflowId}:take-payment`,
      }),
    ship: () =>
      activities.createShipments({
        orderId,
        customerId,
        address: shippingAddress,
        sellers: sellers.map((s) => ({ ...s, parcels: lines })),
      }),
    cancelShipments: () => activities.cancelShipments({ orderId, customerId, sellers }),
    refund: () => activities.refundPayment({ orderId, customerId, idempotencyKey: `${workflowId}:refund-payment` }),
    release: () => activities.releaseInventory({ orderId, customerId }),
    failed: () => activities.recordOrderOutcome({ orderId, customerId, status: 'FAILED', reason: 'test' }),
  };
}

/** Runs a step whose first attempt dies between its commits, then its retry, then a second retry. */
async function diesThenRetried(step: string, run: () => Promise<unknown>): Promise<void> {
  dieBetweenCommits.add(step);
  await expect(run()).rejects.toThrow(`worker killed between the commits of ${step}`);
  await run();
  await run();
}

async function eventsOf(orderId: string) {
  const events = await shard.domainEvent.findMany({ where: { aggregateId: orderId }, orderBy: { version: 'asc' } });
  return events.map((e) => `${e.version} ${e.eventType}`);
}

const reservationsOf = (db: Database, orderId: string) =>
  db.reservation.findMany({ where: { orderId }, select: { productId: true, quantity: true, status: true } });

describe('a step that spans the catalogue and a shard, killed between its two commits', () => {
  it('loses and doubles nothing when retried, through the whole saga and its compensations', async () => {
    const { input, product } = await givenAnOrder();
    const steps = sagaSteps(input);

    await diesThenRetried('record-order-and-reserve-inventory', steps.recordAndReserve);
    // Stock held once, in the catalogue; the order and its events on the shard.
    expect(await stockOf(world.catalogue, product.id)).toEqual({ onHand: 9, reserved: 4 });
    expect(await reservationsOf(world.catalogue, input.orderId)).toEqual([
      { productId: product.id, quantity: 4, status: 'RESERVED' },
    ]);
    expect(await shard.order.findUnique({ where: { id: input.orderId }, select: { status: true } })).toEqual({
      status: 'INVENTORY_RESERVED',
    });

    await steps.charge();
    await diesThenRetried('create-shipments', steps.ship);
    expect(await stockOf(world.catalogue, product.id)).toEqual({ onHand: 5, reserved: 0 });

    await diesThenRetried('cancel-shipments', steps.cancelShipments);
    expect(await stockOf(world.catalogue, product.id)).toEqual({ onHand: 9, reserved: 4 });
    await steps.refund();
    await diesThenRetried('release-inventory', steps.release);

    expect(await stockOf(world.catalogue, product.id)).toEqual({ onHand: 9, reserved: 0 });
    expect(await reservationsOf(world.catalogue, input.orderId)).toEqual([
      { productId: product.id, quantity: 4, status: 'RELEASED' },
    ]);
    expect(await eventsOf(input.orderId)).toEqual([
      '1 OrderPlaced',
      '2 InventoryReserved',
      '3 PaymentCaptured',
      '4 ShipmentsCreated',
      '5 ShipmentsCancelled',
      '6 PaymentRefunded',
      '7 InventoryReleased',
    ]);
    expect(await shard.outboxEvent.count({ where: { aggregateId: input.orderId } })).toBe(7);
    // Nothing of the order's own on the catalogue database, nothing of the stock's on the shard.
    expect(await world.catalogue.order.count({ where: { id: input.orderId } })).toBe(0);
    expect(await world.catalogue.domainEvent.count({ where: { aggregateId: input.orderId } })).toBe(0);
    expect(await reservationsOf(shard, input.orderId)).toEqual([]);
  });

  it('short of stock, records the order on its shard, holds nothing and fails with OutOfStock', async () => {
    const { input, product } = await givenAnOrder();
    const tooMany = orderInput(input.customerId, [product], [{ productId: product.id, quantity: 10 }]);
    const failure = await sagaSteps(tooMany)
      .recordAndReserve()
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe(OrderFailureType.OutOfStock);
    expect(await stockOf(world.catalogue, product.id)).toEqual({ onHand: 9, reserved: 0 });
    expect(await reservationsOf(world.catalogue, tooMany.orderId)).toEqual([]);
    await sagaSteps(tooMany).failed();
    expect(await eventsOf(tooMany.orderId)).toEqual(['1 OrderPlaced', '2 OrderFailed']);
  });
});
