import { WorkflowFailedError } from '@temporalio/client';
import type { Charge, ChargeRequest, PaymentProvider } from '../../activities/payments/payment-provider';
import { SimulatedPaymentProvider, simulatedPaymentKeys } from '../../activities/payments/simulated-payment-provider';
import { simulatedShippingKey } from '../../activities/shipping/simulated-shipping-provider';
import type { Config } from '../../platform/config';
import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import { cancelOrderUpdate, orderStateQuery, shipmentDeliveredSignal } from '../../workflows/orders/order-contract';
import {
  orderInput,
  seedProduct,
  startOrder,
  stockOf,
  undeliverableAddress,
  type SeededProduct,
} from '../support/order-fixtures';
import { recordHistory } from '../support/histories';
import { eventually, startWorker, testConfig, type RunningWorker } from '../support/platform';
import { useSagaWorld } from '../support/saga-world';

/**
 * The fulfilment saga on a real worker, dev server, PostgreSQL and Redis: each path ends in the
 * right status with exactly the right compensations, and money and stock add up afterwards.
 */
describe('order saga', () => {
  const world = useSagaWorld();
  const { twoSellerOrder } = world;
  // Read after beforeAll has run: the world is filled in by then.
  let worker: RunningWorker,
    temporal: TemporalClient,
    config: Config,
    customerId: string,
    sellerA: string,
    sellerB: string;
  beforeAll(() => {
    ({ worker, temporal, config, customerId, sellerA, sellerB } = world);
  });

  async function chargesAtProvider(orderId: string): Promise<number> {
    return worker.redis.hlen(simulatedPaymentKeys(orderId).charges);
  }

  it('happy path: reserves, charges once, ships per seller, and is delivered on the carrier callbacks', async () => {
    const { apple, pear, input } = await twoSellerOrder();
    const handle = await startOrder(temporal, config, input);

    const shipped = await eventually(async () => {
      const state = await handle.query(orderStateQuery);
      return state.step === 'await-delivery' ? state : undefined;
    });
    expect(shipped.status).toBe('SHIPPED');
    expect(shipped.completedSteps).toEqual(['record-order', 'reserve-inventory', 'take-payment', 'create-shipments']);
    expect(shipped.shipments.map((s) => s.sellerId).sort()).toEqual([sellerA, sellerB].sort());

    const order = await worker.db.order.findUniqueOrThrow({
      where: { id: input.orderId },
      include: { lines: true, payment: true, shipments: true },
    });
    expect(order.status).toBe('SHIPPED');
    expect(Number(order.totalMinor)).toBe(2 * 1250 + 899);
    expect(Number(order.commissionMinor)).toBe(375 + 90);
    expect(order.payment).toMatchObject({ status: 'CAPTURED', amountMinor: BigInt(3399) });
    expect(order.shipments).toHaveLength(2);
    expect(await stockOf(worker.db, apple.id)).toEqual({ onHand: 3, reserved: 0 });
    expect(await stockOf(worker.db, pear.id)).toEqual({ onHand: 4, reserved: 0 });
    expect(await chargesAtProvider(input.orderId)).toBe(1);

    for (const shipment of shipped.shipments) {
      await handle.signal(shipmentDeliveredSignal, {
        shipmentId: shipment.shipmentId,
        deliveredAt: new Date().toISOString(),
      });
    }
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DELIVERED', compensations: [] });
    const delivered = await worker.db.order.findUniqueOrThrow({
      where: { id: input.orderId },
      include: { shipments: true },
    });
    expect(delivered.status).toBe('DELIVERED');
    expect(delivered.shipments.every((s) => s.status === 'DELIVERED' && s.deliveredAt !== null)).toBe(true);
    // The payment is an activity of its own; the shipments are booked by a local activity, in the
    // workflow task that saw the payment through (patch shipments-booked-locally).
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(scheduled).toEqual(['chargePayment']);
    const localActivities = events
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
      .map((e) =>
        JSON.parse(Buffer.from(e.markerRecordedEventAttributes!.details!['data']!.payloads![0]!.data!).toString()),
      )
      .map((marker: { activity_type: string }) => marker.activity_type);
    // Each delivery was signalled on its own: one step records each.
    expect(localActivities).toEqual([
      'recordOrderAndReserveInventory',
      'createShipments',
      'recordDeliveries',
      'recordDeliveries',
    ]);
    // order-delivered.json was recorded before the last delivery closed the order in the same step,
    // order-delivered-closed-by-last-delivery.json before one upsert per transition,
    // order-delivered-record-and-reserve-in-one-step.json before the shipments were booked locally:
    // kept, they prove executions begun before those patches still complete.
    recordHistory(handle.workflowId, 'order-delivered-shipments-booked-locally');
  });

  it('out of stock: fails at reservation, nothing to undo, nothing held or charged', async () => {
    const { apple, pear, input } = await twoSellerOrder({}, 6); // 6 apples, 5 in stock

    const handle = await startOrder(temporal, config, input);
    const result = await handle.result();

    expect(result.status).toBe('FAILED');
    expect(result.failure).toMatchObject({ step: 'reserve-inventory', type: 'OutOfStock' });
    recordHistory(handle.workflowId, 'order-out-of-stock-record-and-reserve-in-one-step');
    expect(result.compensations).toEqual([]);
    expect(await stockOf(worker.db, apple.id)).toEqual({ onHand: 5, reserved: 0 });
    expect(await stockOf(worker.db, pear.id)).toEqual({ onHand: 5, reserved: 0 });
    expect(await worker.db.reservation.count({ where: { orderId: input.orderId } })).toBe(0);
    expect(await worker.db.payment.count({ where: { orderId: input.orderId } })).toBe(0);
    expect(await worker.db.order.findUniqueOrThrow({ where: { id: input.orderId } })).toMatchObject({
      status: 'FAILED',
      failureReason: expect.stringContaining('out of stock'),
    });
  });

  it('card declined: releases the inventory and charges nothing', async () => {
    const { apple, pear, input } = await twoSellerOrder({ payment: { token: 'tok_declined' } });

    const handle = await startOrder(temporal, config, input);
    const result = await handle.result();

    expect(result.status).toBe('FAILED');
    expect(result.failure).toMatchObject({ step: 'take-payment', type: 'PaymentDeclined' });
    recordHistory(handle.workflowId, 'order-payment-declined-record-and-reserve-in-one-step');
    expect(result.compensations).toEqual([{ name: 'release-inventory', outcome: 'done' }]);
    expect(await stockOf(worker.db, apple.id)).toEqual({ onHand: 5, reserved: 0 });
    expect(await stockOf(worker.db, pear.id)).toEqual({ onHand: 5, reserved: 0 });
    expect(await worker.db.payment.count({ where: { orderId: input.orderId } })).toBe(0);
    expect(await chargesAtProvider(input.orderId)).toBe(0);
  });

  it('undeliverable address: cancels shipments, refunds the charge in full, releases the inventory', async () => {
    const { apple, input } = await twoSellerOrder({ shippingAddress: undeliverableAddress });

    const handle = await startOrder(temporal, config, input);
    const result = await handle.result();

    expect(result.status).toBe('FAILED');
    expect(result.failure).toMatchObject({ step: 'create-shipments', type: 'Undeliverable' });
    recordHistory(handle.workflowId, 'order-undeliverable-shipments-booked-locally');
    expect(result.compensations).toEqual([
      { name: 'cancel-shipments', outcome: 'done' },
      { name: 'refund-payment', outcome: 'done' },
      { name: 'release-inventory', outcome: 'done' },
    ]);
    const payment = await worker.db.payment.findUniqueOrThrow({
      where: { orderId: input.orderId },
      include: { refund: true },
    });
    expect(payment.status).toBe('REFUNDED');
    expect(payment.refund?.amountMinor).toBe(payment.amountMinor);
    expect(await chargesAtProvider(input.orderId)).toBe(1);
    expect(await worker.redis.hlen(simulatedPaymentKeys(input.orderId).refunds)).toBe(1);
    expect(await worker.db.shipment.count({ where: { orderId: input.orderId } })).toBe(0);
    expect(await worker.redis.hlen(simulatedShippingKey(input.orderId))).toBe(0);
    expect(await stockOf(worker.db, apple.id)).toEqual({ onHand: 5, reserved: 0 });
  });

  it('tok_flaky: the transient provider errors are retried and the order is charged once', async () => {
    const { input } = await twoSellerOrder({ payment: { token: 'tok_flaky' } });
    const handle = await startOrder(temporal, config, input);

    await eventually(async () => ((await handle.query(orderStateQuery)).status === 'SHIPPED' ? true : undefined));

    const history = await handle.fetchHistory();
    const failedAttempts = (history.events ?? []).filter(
      (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
    );
    expect(failedAttempts.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([3]);
    expect(await chargesAtProvider(input.orderId)).toBe(1);
    expect(await worker.db.payment.count({ where: { orderId: input.orderId } })).toBe(1);
    await handle.terminate('test done');
  });

  it('refuses cancellation once shipments exist, with the reason', async () => {
    const { input } = await twoSellerOrder();
    const handle = await startOrder(temporal, config, input);
    await eventually(async () => ((await handle.query(orderStateQuery)).step === 'await-delivery' ? true : undefined));

    const answer = await handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'changed my mind' }] });

    expect(answer).toEqual({ accepted: false, reason: 'order is already SHIPPED' });
    expect((await handle.query(orderStateQuery)).status).toBe('SHIPPED');
    await handle.terminate('test done');
  });

  it('flags an order whose delivery is not confirmed in time, and leaves it SHIPPED', async () => {
    const { input } = await twoSellerOrder({ deliveryTimeoutMs: 1_000 });

    const handle = await startOrder(temporal, config, input);
    const result = await handle.result();

    expect(result.status).toBe('SHIPPED');
    expect((await handle.query(orderStateQuery)).step).toBe('delivery-overdue');
    recordHistory(handle.workflowId, 'order-delivery-overdue-shipments-booked-locally');
  });

  it('continues as new when callbacks grow the history, and carries the state across', async () => {
    const { input } = await twoSellerOrder({ continueAsNewAfterEvents: 40 });
    const handle = await startOrder(temporal, config, input);
    const shipped = await eventually(async () => {
      const state = await handle.query(orderStateQuery);
      return state.step === 'await-delivery' ? state : undefined;
    });
    const firstRunId = (await handle.describe()).runId;

    // A carrier that calls back again and again (unknown and repeated shipment ids) grows the history.
    for (let i = 0; i < 30; i++) {
      await handle.signal(shipmentDeliveredSignal, { shipmentId: `noise-${i}`, deliveredAt: new Date().toISOString() });
    }
    const latest = temporal.client.workflow.getHandle(handle.workflowId);
    await eventually(async () => ((await latest.describe()).runId !== firstRunId ? true : undefined));

    const firstRun = await temporal.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory();
    expect(firstRun.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    const carried = await latest.query(orderStateQuery);
    expect(carried).toMatchObject({
      status: 'SHIPPED',
      step: 'await-delivery',
      completedSteps: shipped.completedSteps,
      shipments: shipped.shipments,
    });

    for (const shipment of shipped.shipments) {
      await latest.signal(shipmentDeliveredSignal, {
        shipmentId: shipment.shipmentId,
        deliveredAt: new Date().toISOString(),
      });
    }
    expect(await latest.result()).toMatchObject({ status: 'DELIVERED', compensations: [] });
    expect((await worker.db.order.findUniqueOrThrow({ where: { id: input.orderId } })).status).toBe('DELIVERED');
  });

  describe('cancellation while the saga runs', () => {
    /** A provider whose charges wait for the test: the saga is held inside "take payment". */
    class GatedPaymentProvider implements PaymentProvider {
      readonly name = 'gated';
      private release!: () => void;
      readonly opened = new Promise<void>((resolve) => (this.release = resolve));
      readonly started: string[] = [];
      constructor(private readonly inner: PaymentProvider) {}
      async charge(request: ChargeRequest): Promise<Charge> {
        this.started.push(request.orderId);
        await this.opened;
        return this.inner.charge(request);
      }
      refund = (request: Parameters<PaymentProvider['refund']>[0]) => this.inner.refund(request);
      open(): void {
        this.release();
      }
    }

    /** An order whose saga is held inside "take payment" by a gated provider on its own worker. */
    async function orderHeldInPayment(quantity: number) {
      const gatedConfig = testConfig();
      const gatedTemporal = createTemporalClient(gatedConfig);
      const gate = new GatedPaymentProvider(new SimulatedPaymentProvider(worker.redis));
      const gatedWorker = await startWorker(gatedConfig, { payments: gate });
      const input = orderInput(customerId, products, [{ productId: products[0]!.id, quantity }]);
      const handle = await startOrder(gatedTemporal, gatedConfig, input);
      await eventually(() => Promise.resolve(gate.started.includes(input.orderId) ? true : undefined));
      return {
        gate,
        gatedWorker,
        handle,
        input,
        async release() {
          gate.open();
          await gatedWorker.stop();
          await gatedTemporal.close();
        },
      };
    }

    let products: SeededProduct[];
    beforeEach(async () => {
      products = [await seedProduct(worker.db, sellerA, { stock: 5 })];
    });

    it('before payment: the saga stops before charging and undoes what it did', async () => {
      const lateConfig = testConfig();
      const lateTemporal = createTemporalClient(lateConfig);
      const input = orderInput(customerId, products, [{ productId: products[0]!.id, quantity: 1 }]);
      const handle = await startOrder(lateTemporal, lateConfig, input);
      // No worker polls this queue yet: the update is delivered with the very first workflow task.
      const answer = handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'ordered by mistake' }] });
      const lateWorker = await startWorker(lateConfig);
      try {
        expect(await answer).toEqual({ accepted: true, status: 'PENDING' });
        const result = await handle.result();
        // Recording and reserving are one step: the cancellation takes effect after it, so the
        // reservation is given back (before the record-and-reserve-in-one-step patch, the saga
        // stopped between the two and had nothing to release: order-cancelled-before-payment.json).
        expect(result).toMatchObject({
          status: 'CANCELLED',
          compensations: [{ name: 'release-inventory', outcome: 'done' }],
        });
        expect(await lateWorker.db.order.findUniqueOrThrow({ where: { id: input.orderId } })).toMatchObject({
          status: 'CANCELLED',
          failureReason: 'ordered by mistake',
        });
        expect(await chargesAtProvider(input.orderId)).toBe(0);
        expect(await stockOf(worker.db, products[0]!.id)).toEqual({ onHand: 5, reserved: 0 });
        recordHistory(handle.workflowId, 'order-cancelled-before-payment-record-and-reserve-in-one-step');
      } finally {
        await lateWorker.stop();
        await lateTemporal.close();
      }
    });

    it('after payment: the charge is refunded and the stock released', async () => {
      const held = await orderHeldInPayment(2);
      try {
        const { gate, gatedWorker, handle, input } = held;

        const answer = await handle.executeUpdate(cancelOrderUpdate, { args: [{}] });
        gate.open();
        const result = await handle.result();

        expect(answer).toEqual({ accepted: true, status: 'INVENTORY_RESERVED' });
        expect(result.status).toBe('CANCELLED');
        expect(result.compensations).toEqual([
          { name: 'refund-payment', outcome: 'done' },
          { name: 'release-inventory', outcome: 'done' },
        ]);
        const payment = await gatedWorker.db.payment.findUniqueOrThrow({
          where: { orderId: input.orderId },
          include: { refund: true },
        });
        expect(payment).toMatchObject({ status: 'REFUNDED' });
        expect(payment.refund?.amountMinor).toBe(payment.amountMinor);
        expect(await stockOf(worker.db, products[0]!.id)).toEqual({ onHand: 5, reserved: 0 });
        recordHistory(handle.workflowId, 'order-cancelled-after-payment-record-and-reserve-in-one-step');
      } finally {
        await held.release();
      }
    });

    it('an operator cancelling the workflow still gets a complete compensation', async () => {
      const held = await orderHeldInPayment(1);
      try {
        const { gate, gatedWorker, handle, input } = held;

        await handle.cancel();
        gate.open();

        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        const state = await handle.query(orderStateQuery);
        expect(state.status).toBe('CANCELLED');
        // The charge in flight finished (a step is never abandoned half-way), so it is refunded.
        expect(state.compensations.map((c) => c.name)).toEqual(['refund-payment', 'release-inventory']);
        const payment = await gatedWorker.db.payment.findUniqueOrThrow({ where: { orderId: input.orderId } });
        expect(payment.status).toBe('REFUNDED');
        expect(await stockOf(worker.db, products[0]!.id)).toEqual({ onHand: 5, reserved: 0 });
        expect((await gatedWorker.db.order.findUniqueOrThrow({ where: { id: input.orderId } })).status).toBe(
          'CANCELLED',
        );
        recordHistory(handle.workflowId, 'order-cancelled-by-operator');
      } finally {
        await held.release();
      }
    });
  });
});
