import { randomUUID } from 'node:crypto';
import { createActivities } from '../../activities';
import { simulatedPaymentKeys } from '../../activities/payments/simulated-payment-provider';
import { simulatedShippingKey } from '../../activities/shipping/simulated-shipping-provider';
import { createDatabase, type Database } from '../../platform/database';
import { createRedis, type RedisClient } from '../../platform/redis';
import { createProviders } from '../../worker/providers';
import {
  forwardAndCompensationCalls,
  orderInput,
  seedCustomer,
  seedProduct,
  seedSeller,
  stockOf,
} from '../support/order-fixtures';
import { testConfig, shardRouterOn } from '../support/platform';

/**
 * Temporal may run an activity again after its effect was committed (a lost completion, a worker
 * crash, a timeout). Every saga activity run twice must leave the world as one run did.
 */
describe('saga activities are idempotent', () => {
  let db: Database;
  let redis: RedisClient;
  let activities: ReturnType<typeof createActivities>;

  beforeAll(async () => {
    const config = testConfig();
    db = createDatabase(config);
    redis = createRedis(config, 'shopflow-test-idempotency');
    await redis.connect();
    activities = createActivities({ db, redis, shards: shardRouterOn(db, config), ...createProviders(config, redis) });
  });
  afterAll(async () => {
    await db.$disconnect();
    redis.disconnect();
  });

  /** What an order has done to the world: rows, stock, and the providers' ledgers. */
  async function footprint(orderId: string, productId: string) {
    const order = await db.order.findUnique({
      where: { id: orderId },
      include: { lines: true, payment: { include: { refund: true } }, shipments: true },
    });
    // Reservations are the catalogue's rows: no relation reaches them from the order.
    const reservations = await db.reservation.findMany({ where: { orderId }, orderBy: { productId: 'asc' } });
    return {
      order: order && { ...order, updatedAt: undefined, reservations },
      stock: await stockOf(db, productId),
      charges: await redis.hgetall(simulatedPaymentKeys(orderId).charges),
      refunds: await redis.hgetall(simulatedPaymentKeys(orderId).refunds),
      shipments: await redis.hgetall(simulatedShippingKey(orderId)),
    };
  }

  it('each step and each compensation, run twice, changes nothing the second time', async () => {
    const product = await seedProduct(db, await seedSeller(db), { stock: 9, priceMinor: 700 });
    const input = orderInput(await seedCustomer(db), [product], [{ productId: product.id, quantity: 4 }]);
    const { orderId } = input;
    const calls = forwardAndCompensationCalls(activities, input);
    for (const [name, call] of calls) {
      const first = await call();
      const after = await footprint(orderId, product.id);
      const second = await call();
      // Forward steps whose answer the saga uses give the same answer again; the others report
      // what this very call did (created, released), which is nothing the second time.
      if (['reserveInventory', 'chargePayment', 'createShipments'].includes(name)) {
        expect({ name, result: second }).toEqual({ name, result: first });
      }
      expect({ name, world: await footprint(orderId, product.id) }).toEqual({ name, world: after });
    }

    // And the whole story adds up: charged once, refunded once, stock back where it started.
    const end = await footprint(orderId, product.id);
    expect(Object.keys(end.charges)).toHaveLength(1);
    expect(Object.keys(end.refunds)).toHaveLength(1);
    expect(end.stock).toEqual({ onHand: 9, reserved: 0 });
    expect(end.order?.payment?.status).toBe('REFUNDED');
    expect(end.order?.shipments.map((s) => s.status)).toEqual(['CANCELLED']);
    expect(end.order?.reservations.map((r) => r.status)).toEqual(['RELEASED']);
  });

  it('a reservation retried after it committed does not hold the stock twice', async () => {
    const product = await seedProduct(db, await seedSeller(db), { stock: 5 });
    const input = orderInput(await seedCustomer(db), [product], [{ productId: product.id, quantity: 3 }]);
    await activities.recordOrder({
      orderId: input.orderId,
      workflowId: randomUUID(),
      customerId: input.customerId,
      order: input.order,
      shippingAddress: input.shippingAddress,
    });

    // Two attempts at once, as when a timed-out attempt is still running while its retry starts.
    await Promise.all([
      activities.reserveInventory({ orderId: input.orderId, lines: [{ productId: product.id, quantity: 3 }] }),
      activities.reserveInventory({ orderId: input.orderId, lines: [{ productId: product.id, quantity: 3 }] }),
    ]);

    expect(await stockOf(db, product.id)).toEqual({ onHand: 5, reserved: 3 });
  });
});
