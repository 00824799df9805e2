import { simulatedPaymentKeys } from '../../activities/payments/simulated-payment-provider';
import { simulatedShippingKey } from '../../activities/shipping/simulated-shipping-provider';
import { createDatabase, type Database } from '../../platform/database';
import { createRedis, type RedisClient } from '../../platform/redis';
import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import { orderStateQuery } from '../../workflows/orders/order-contract';
import { orderInput, seedCustomer, seedProduct, seedSeller, startOrder, stockOf } from '../support/order-fixtures';
import { eventually, startWorker, testConfig } from '../support/platform';
import { freePort, startEntry, type LongRunning } from '../support/processes';

/**
 * Money and stock under pressure: many orders racing for the last units, and a worker killed
 * with SIGKILL in the middle of a saga. Never oversold, never charged twice, nothing lost.
 */
describe('order invariants', () => {
  let db: Database;
  let redis: RedisClient;

  beforeAll(async () => {
    const config = testConfig();
    db = createDatabase(config);
    redis = createRedis(config, 'shopflow-test-invariants');
    await redis.connect();
  });
  afterAll(async () => {
    await db.$disconnect();
    redis.disconnect();
  });

  it('never oversells: 100 concurrent orders for 20 units, exactly 20 ship and the rest fail holding nothing', async () => {
    const config = testConfig();
    const worker = await startWorker(config);
    const temporal = createTemporalClient(config);
    try {
      const customerId = await seedCustomer(db);
      const product = await seedProduct(db, await seedSeller(db), { stock: 20, priceMinor: 500 });
      const inputs = Array.from({ length: 100 }, () =>
        orderInput(customerId, [product], [{ productId: product.id, quantity: 1 }], { deliveryTimeoutMs: 1 }),
      );

      // Sample the stock row while the orders race: it must never leave its bounds.
      const samples: { onHand: number; reserved: number }[] = [];
      let racing = true;
      const sampler = (async () => {
        while (racing) {
          samples.push(await stockOf(db, product.id));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      const handles = await Promise.all(inputs.map((input) => startOrder(temporal, config, input)));
      const results = await Promise.all(handles.map((handle) => handle.result()));
      racing = false;
      await sampler;

      const shipped = results.filter((r) => r.status === 'SHIPPED');
      const failed = results.filter((r) => r.status === 'FAILED');
      expect(shipped).toHaveLength(20);
      expect(failed).toHaveLength(80);
      expect(failed.every((r) => r.failure?.type === 'OutOfStock' && r.compensations.length === 0)).toBe(true);
      expect(await stockOf(db, product.id)).toEqual({ onHand: 0, reserved: 0 });
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.every((s) => s.onHand >= 0 && s.reserved >= 0 && s.reserved <= s.onHand)).toBe(true);

      const orderIds = inputs.map((i) => i.orderId);
      expect(await db.payment.count({ where: { orderId: { in: orderIds } } })).toBe(20);
      expect(await db.reservation.count({ where: { orderId: { in: orderIds }, status: 'RESERVED' } })).toBe(0);
      const failedIds = failed.map((r) => r.orderId);
      expect(await db.reservation.count({ where: { orderId: { in: failedIds } } })).toBe(0);
      const providerCharges = await Promise.all(orderIds.map((id) => redis.hlen(simulatedPaymentKeys(id).charges)));
      expect(providerCharges.reduce((a, b) => a + b, 0)).toBe(20);
    } finally {
      await temporal.close();
      await worker.stop();
    }
  });

  describe('a worker killed with SIGKILL in the middle of a step', () => {
    const cases = [
      {
        step: 'take-payment',
        latencyVariable: 'PAYMENT_SIM_LATENCY_MS',
        providerRecorded: (orderId: string) => redis.hlen(simulatedPaymentKeys(orderId).charges),
      },
      {
        step: 'create-shipments',
        latencyVariable: 'SHIPPING_SIM_LATENCY_MS',
        providerRecorded: (orderId: string) => redis.hlen(simulatedShippingKey(orderId)),
      },
    ] as const;

    it.each(cases)(
      'during $step: after a restart the saga completes, charged once, stock consistent',
      async ({ latencyVariable, providerRecorded }) => {
        const config = testConfig();
        const temporal: TemporalClient = createTemporalClient(config);
        // Metrics ports of its own, so a developer's running worker (or another test's) never collides.
        const [metricsPort, sdkMetricsPort] = await Promise.all([freePort(), freePort()]);
        const workerEnv = {
          TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
          LOG_LEVEL: 'warn',
          WORKER_METRICS_PORT: String(metricsPort),
          WORKER_SDK_METRICS_PORT: String(sdkMetricsPort),
        };
        let worker: LongRunning | undefined;
        try {
          const customerId = await seedCustomer(db);
          const product = await seedProduct(db, await seedSeller(db), { stock: 7 });
          const input = orderInput(customerId, [product], [{ productId: product.id, quantity: 3 }]);

          // The provider records the effect, then the answer is slow: the kill lands in
          // "the provider did it, our database does not know yet", the window that charges twice.
          worker = startEntry('worker/main.ts', { ...workerEnv, [latencyVariable]: '60000', LOG_LEVEL: 'info' });
          await worker.waitForOutput('worker started', 45_000);
          const handle = await startOrder(temporal, config, input);
          await eventually(async () => ((await providerRecorded(input.orderId)) > 0 ? true : undefined), 30_000);
          worker.child.kill('SIGKILL');
          await worker.exited;

          // A fresh worker: the lost activity times out (start-to-close) and is retried.
          worker = startEntry('worker/main.ts', workerEnv);
          const state = await eventually(
            async () => {
              const s = await handle.query(orderStateQuery);
              return s.step === 'await-delivery' ? s : undefined;
            },
            50_000,
            250,
          );

          expect(state.status).toBe('SHIPPED');
          expect(await redis.hlen(simulatedPaymentKeys(input.orderId).charges)).toBe(1);
          expect(await db.payment.count({ where: { orderId: input.orderId } })).toBe(1);
          expect(await db.shipment.count({ where: { orderId: input.orderId } })).toBe(1);
          expect(await redis.hlen(simulatedShippingKey(input.orderId))).toBe(1);
          expect(await stockOf(db, product.id)).toEqual({ onHand: 4, reserved: 0 });
          await handle.terminate('test done');
        } finally {
          worker?.child.kill('SIGKILL');
          await worker?.exited;
          await temporal.close();
        }
      },
      120_000,
    );
  });
});
