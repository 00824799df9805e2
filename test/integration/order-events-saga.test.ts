import { orderWorkflowId } from '../../domain/ids';
import type { Config } from '../../platform/config';
import type { TemporalClient } from '../../platform/temporal';
import { orderStateQuery, shipmentDeliveredSignal } from '../../workflows/orders/order-contract';
import { startOrder, undeliverableAddress } from '../support/order-fixtures';
import { eventually, type RunningWorker } from '../support/platform';
import { useSagaWorld } from '../support/saga-world';

/**
 * The saga on a real worker writes the order's story as events: in version order, each traced to
 * the workflow run and activity that caused it, each with exactly one outbox row for the relay.
 */
describe('order saga events', () => {
  const world = useSagaWorld();
  const twoSellerOrder = async (overrides: Parameters<typeof world.twoSellerOrder>[0] = {}) =>
    (await world.twoSellerOrder(overrides)).input;
  // Read after beforeAll has run: the world is filled in by then.
  let worker: RunningWorker, temporal: TemporalClient, config: Config;
  beforeAll(() => {
    ({ worker, temporal, config } = world);
  });

  /** The order's events as [type, activity], after checking their tracing and outbox rows. */
  async function eventTrail(orderId: string, runId: string): Promise<[string, string | null][]> {
    const events = await worker.db.domainEvent.findMany({
      where: { aggregateId: orderId },
      orderBy: { version: 'asc' },
      include: { outbox: true },
    });
    expect(events.map((e) => e.version)).toEqual(events.map((_, index) => index + 1));
    for (const event of events) {
      expect(event).toMatchObject({ workflowId: orderWorkflowId(orderId), runId });
      expect(event.activity).toEqual(expect.any(String));
      expect(event.outbox).toMatchObject({ version: event.version, eventType: event.eventType, status: 'PENDING' });
    }
    expect(await worker.db.outboxEvent.count({ where: { aggregateId: orderId } })).toBe(events.length);
    return events.map((e) => [e.eventType, e.activity]);
  }

  it('happy path: placed, reserved, paid, shipped, each shipment delivered, delivered', async () => {
    const input = await twoSellerOrder();
    const handle = await startOrder(temporal, config, input);
    const shipped = await eventually(async () => {
      const state = await handle.query(orderStateQuery);
      return state.step === 'await-delivery' ? state : undefined;
    });
    for (const shipment of shipped.shipments) {
      await handle.signal(shipmentDeliveredSignal, {
        shipmentId: shipment.shipmentId,
        deliveredAt: new Date().toISOString(),
      });
    }
    await handle.result();

    expect(await eventTrail(input.orderId, (await handle.describe()).runId)).toEqual([
      // One step records the order and reserves its stock (patch record-and-reserve-in-one-step).
      ['OrderPlaced', 'recordOrderAndReserveInventory'],
      ['InventoryReserved', 'recordOrderAndReserveInventory'],
      ['PaymentCaptured', 'chargePayment'],
      ['ShipmentsCreated', 'createShipments'],
      ['ShipmentDelivered', 'recordDeliveries'],
      ['ShipmentDelivered', 'recordDeliveries'],
      // The step that records the last delivery closes the order in the same transaction.
      ['OrderDelivered', 'recordDeliveries'],
    ]);
  });

  it('card declined: placed, reserved, released, failed', async () => {
    const input = await twoSellerOrder({ payment: { token: 'tok_declined' } });
    const handle = await startOrder(temporal, config, input);
    await handle.result();

    expect(await eventTrail(input.orderId, (await handle.describe()).runId)).toEqual([
      ['OrderPlaced', 'recordOrderAndReserveInventory'],
      ['InventoryReserved', 'recordOrderAndReserveInventory'],
      ['InventoryReleased', 'releaseInventory'],
      ['OrderFailed', 'recordOrderOutcome'],
    ]);
  });

  it('undeliverable: the refund and the release are events, the shipments never were', async () => {
    const input = await twoSellerOrder({ shippingAddress: undeliverableAddress });
    const handle = await startOrder(temporal, config, input);
    await handle.result();

    expect(await eventTrail(input.orderId, (await handle.describe()).runId)).toEqual([
      ['OrderPlaced', 'recordOrderAndReserveInventory'],
      ['InventoryReserved', 'recordOrderAndReserveInventory'],
      ['PaymentCaptured', 'chargePayment'],
      ['PaymentRefunded', 'refundPayment'],
      ['InventoryReleased', 'releaseInventory'],
      ['OrderFailed', 'recordOrderOutcome'],
    ]);
  });
});
