import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createActivities } from '../../activities';
import { createProviders } from '../../worker/providers';
import { orderInput, seedCustomer, seedProduct, seedSeller } from '../support/order-fixtures';
import { startApi, type TestPlatform, shardRouterOn } from '../support/platform';

/**
 * An order's audit trail over HTTP, and the order as it was at an earlier version or time. The
 * order's story is written by running its activities directly, one step at a time.
 */
describe('order events over HTTP', () => {
  let api: TestPlatform;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api.close();
  });

  /** A delivered one-seller order; `after[v]` is a moment just after version v was written. */
  async function deliveredOrder() {
    const { db, redis } = api.deps;
    const activities = createActivities({
      db,
      redis,
      shards: shardRouterOn(db, api.config),
      ...createProviders(api.config, redis),
    });
    const product = await seedProduct(db, await seedSeller(db), { stock: 5, priceMinor: 1000 });
    const input = orderInput(await seedCustomer(db), [product], [{ productId: product.id, quantity: 2 }]);
    const { orderId, order } = input;
    const workflowId = `order-${orderId}`;
    const lines = [{ productId: product.id, quantity: 2 }];
    const after: Date[] = [new Date()];
    const step = async (run: () => Promise<unknown>) => {
      await sleep(5);
      await run();
      after.push(new Date());
    };
    await step(() =>
      activities.recordOrder({
        orderId,
        workflowId,
        customerId: input.customerId,
        order,
        shippingAddress: input.shippingAddress,
      }),
    );
    await step(() => activities.reserveInventory({ orderId, lines }));
    await step(() =>
      activities.chargePayment({
        orderId,
        amountMinor: order.totalMinor,
        currency: 'EUR',
        token: 'tok_visa',
        idempotencyKey: `${workflowId}:take-payment`,
      }),
    );
    let shipmentId = '';
    await step(async () => {
      const { shipments } = await activities.createShipments({
        orderId,
        address: input.shippingAddress,
        sellers: [{ sellerId: product.sellerId, idempotencyKey: `${workflowId}:ship`, parcels: lines }],
      });
      shipmentId = shipments[0]!.shipmentId;
    });
    await step(() =>
      activities.recordDeliveries({ orderId, deliveries: [{ shipmentId, deliveredAt: new Date().toISOString() }] }),
    );
    await step(() => activities.recordOrderOutcome({ orderId, status: 'DELIVERED' }));
    return { orderId, after };
  }

  const eventsOf = (orderId: string, query: Record<string, string> = {}) =>
    request(api.app).get(`/v1/orders/${orderId}/events`).query(query);
  const orderAsOf = (orderId: string, asOf: string) => request(api.app).get(`/v1/orders/${orderId}`).query({ asOf });

  it('lists the audit trail in version order, page by page', async () => {
    const { orderId } = await deliveredOrder();

    const all = pageOf(await eventsOf(orderId).expect(200));
    const first = pageOf(await eventsOf(orderId, { limit: '4' }).expect(200));
    const second = pageOf(await eventsOf(orderId, { after: String(first.nextAfter), limit: '4' }).expect(200));

    const types = ['OrderPlaced', 'InventoryReserved', 'PaymentCaptured', 'ShipmentsCreated', 'ShipmentDelivered'];
    expect(all.events.map((e) => e.type)).toEqual([...types, 'OrderDelivered']);
    expect(all.nextAfter).toBeNull();
    expect(all.events[1]).toMatchObject({
      version: 2,
      type: 'InventoryReserved',
      correlation: { workflowId: `order-${orderId}`, causationKey: `order-${orderId}:reserve-inventory` },
    });
    expect(first.events.map((e) => e.version)).toEqual([1, 2, 3, 4]);
    expect(first.nextAfter).toBe(4);
    expect(second.events.map((e) => e.version)).toEqual([5, 6]);
    expect(second.nextAfter).toBeNull();
  });

  it('answers 404 for the events of an order that does not exist', async () => {
    const res = await eventsOf(randomUUID()).expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it.each([
    [{ limit: '0' }, 'query.limit'],
    [{ limit: '201' }, 'query.limit'],
    [{ limit: 'ten' }, 'query.limit'],
    [{ after: '-1' }, 'query.after'],
    [{ after: '1.5' }, 'query.after'],
    [{ page: '2' }, 'query'],
  ])('refuses bad paging %j with a 400 naming %s', async (query, field) => {
    const res = await eventsOf(randomUUID(), query).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((res.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain(field);
  });

  it('rebuilds the order as of a version', async () => {
    const { orderId } = await deliveredOrder();

    const paid = await orderAsOf(orderId, '3').expect(200);
    const now = await request(api.app).get(`/v1/orders/${orderId}`).expect(200);

    expect(paid.body).toMatchObject({ orderId, version: 3, status: 'PAID', payment: { status: 'CAPTURED' } });
    expect(paid.body.shipments).toEqual([]);
    expect(now.body.status).toBe('DELIVERED');
    await orderAsOf(orderId, '7').expect(404);
  });

  it('rebuilds the order as of a time, and 404 before it existed', async () => {
    const { orderId, after } = await deliveredOrder();

    const reserved = await orderAsOf(orderId, after[2]!.toISOString()).expect(200);
    const shipped = await orderAsOf(orderId, after[4]!.toISOString()).expect(200);
    const before = await orderAsOf(orderId, after[0]!.toISOString()).expect(404);

    expect(reserved.body).toMatchObject({ version: 2, status: 'INVENTORY_RESERVED', inventory: { hold: 'RESERVED' } });
    expect(shipped.body).toMatchObject({ version: 4, status: 'SHIPPED', inventory: { hold: 'CONSUMED' } });
    expect(shipped.body.shipments).toHaveLength(1);
    expect(before.body.detail).toContain('did not exist');
  });

  it.each(['0', '-3', 'yesterday', '2026-13-45T00:00:00Z', ''])('refuses asOf=%j with a 400', async (asOf) => {
    const res = await orderAsOf(randomUUID(), asOf).expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'query.asOf' })]);
  });
});

interface EventsPage {
  events: { version: number; type: string }[];
  nextAfter: number | null;
}

function pageOf(res: { body: unknown }): EventsPage {
  return res.body as EventsPage;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
