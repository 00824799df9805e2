import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { simulatedPaymentKeys } from '../../activities/payments/simulated-payment-provider';
import { orderWorkflowId } from '../../domain/ids';
import { OrderTotal, SellerIds } from '../../workflows/orders/search-attributes';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import {
  eventually,
  startApi,
  startWorker,
  testConfig,
  type RunningWorker,
  type TestPlatform,
} from '../support/platform';

/**
 * What a client does over HTTP, end to end on a real worker: submit, follow, get delivered or
 * cancel. And what an operator sees of the same order in Temporal (search attributes, summary).
 */
describe('orders over HTTP, end to end', () => {
  let api: TestPlatform;
  let worker: RunningWorker;

  beforeAll(async () => {
    const config = testConfig();
    api = await startApi(config);
    worker = await startWorker(config);
  });
  afterAll(async () => {
    await worker.stop();
    await api.close();
  });

  const submit = (body: object, key = `e2e-${randomUUID()}`) =>
    request(api.app).post('/v1/orders').set('Idempotency-Key', key).send(body);
  const orderOf = (orderId: string) => request(api.app).get(`/v1/orders/${orderId}`);

  interface OrderView {
    status: string;
    shipments: { shipmentId: string; status: string }[];
    [field: string]: unknown;
  }

  async function untilStatus(orderId: string, status: string): Promise<OrderView> {
    return eventually(async () => {
      const res = await orderOf(orderId);
      return res.status === 200 && res.body.status === status ? (res.body as OrderView) : undefined;
    });
  }

  async function twoSellerBasket() {
    const a = await createSellerWithProducts(api.deps.db, [{ priceMinor: 1999, stock: 10 }], {
      commissionRateBps: 1500,
    });
    const b = await createSellerWithProducts(api.deps.db, [{ priceMinor: 500, stock: 10 }]);
    const customer = await createCustomer(api.deps.db);
    const items = [
      { productId: a.products[0]!.id, quantity: 2 },
      { productId: b.products[0]!.id, quantity: 3 },
    ];
    return { customerId: customer.id, items, sellers: [a.seller.id, b.seller.id] };
  }

  it('submit, follow to SHIPPED, carrier reports each delivery, order ends DELIVERED', async () => {
    const { customerId, items, sellers } = await twoSellerBasket();

    const accepted = await submit(orderRequestBody(customerId, items)).expect(202);
    const { orderId } = accepted.body as { orderId: string };
    expect(accepted.headers['location']).toBe(`/v1/orders/${orderId}`);
    // Read-your-writes: the client sends the position back and sees its order on the next read.
    // No projector runs in this file, so the read falls back to the order's events or its workflow.
    expect(accepted.headers['shopflow-position']).toBe(`order:${orderId}:1`);
    const mine = await request(api.app)
      .get(`/v1/orders/${orderId}`)
      .set('Shopflow-Min-Position', accepted.headers['shopflow-position'] as string)
      .expect(200);
    expect(mine.headers['shopflow-consistency']).toBe('fallback');
    expect(mine.body).toMatchObject({ orderId, totalMinor: 5498 });

    const shipped = await untilStatus(orderId, 'SHIPPED');
    // 2 × 19.99 + 3 × 5.00, commission 15 % of the first line and the 10 % default of the second.
    expect(shipped).toMatchObject({ totalMinor: 5498, commissionMinor: 600 + 150, currency: 'EUR' });
    expect(shipped.shipments).toHaveLength(2);

    const saga = await request(api.app).get(`/v1/orders/${orderId}/saga`).expect(200);
    expect(saga.body).toMatchObject({
      status: 'SHIPPED',
      step: 'await-delivery',
      completedSteps: ['record-order', 'reserve-inventory', 'take-payment', 'create-shipments'],
      compensations: [],
    });

    const refused = await request(api.app).post(`/v1/orders/${orderId}/cancel`).send({}).expect(409);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(refused.body.detail).toBe('order is already SHIPPED');

    // The operator's view: search attributes kept current, a readable summary in the Web UI.
    const handle = api.deps.temporal.client.workflow.getHandle(orderWorkflowId(orderId));
    const found = await eventually(async () => {
      const ids: string[] = [];
      const query = `CustomerId = "${customerId}" AND OrderStatus = "SHIPPED" AND SagaStep = "await-delivery"`;
      for await (const execution of api.deps.temporal.client.workflow.list({ query })) ids.push(execution.workflowId);
      return ids.length > 0 ? ids : undefined;
    });
    expect(found).toEqual([orderWorkflowId(orderId)]);
    const description = await handle.describe();
    expect(await description.staticSummary()).toBe(`5 items · 54.98 EUR · customer ${customerId}`);
    expect(description.typedSearchAttributes.get(SellerIds)?.sort()).toEqual([...sellers].sort());
    expect(description.typedSearchAttributes.get(OrderTotal)).toBe(5498);

    for (const shipment of shipped.shipments) {
      await request(api.app).post(`/v1/shipments/${shipment.shipmentId}/delivered`).send({}).expect(202);
    }
    const delivered = await untilStatus(orderId, 'DELIVERED');
    expect(delivered.shipments.every((s) => s.status === 'DELIVERED')).toBe(true);
  });

  it('never charges twice: 50 concurrent submissions with one key make one order and one charge', async () => {
    const { customerId, items } = await twoSellerBasket();
    const body = orderRequestBody(customerId, items);
    const key = `e2e-race-${randomUUID()}`;

    const responses = await Promise.all(Array.from({ length: 50 }, () => submit(body, key)));

    expect(responses.every((r) => r.status === 202 || r.status === 409)).toBe(true);
    const orderIds = new Set(
      responses.filter((r) => r.status === 202).map((r) => (r.body as { orderId: string }).orderId),
    );
    expect(orderIds.size).toBe(1);
    const [orderId] = [...orderIds] as [string];
    await untilStatus(orderId, 'SHIPPED');
    expect(await api.deps.db.order.count({ where: { customerId } })).toBe(1);
    expect(await api.deps.db.payment.count({ where: { order: { customerId } } })).toBe(1);
    expect(await worker.redis.hlen(simulatedPaymentKeys(orderId).charges)).toBe(1);
  });

  describe('a customer cancelling while the payment is being taken', () => {
    let slowApi: TestPlatform;
    let slowWorker: RunningWorker;
    beforeAll(async () => {
      // The simulated provider answers slowly, so the cancellation lands while the charge is in flight.
      const config = testConfig({ PAYMENT_SIM_LATENCY_MS: '1500' });
      slowApi = await startApi(config);
      slowWorker = await startWorker(config);
    });
    afterAll(async () => {
      await slowWorker.stop();
      await slowApi.close();
    });

    it('is accepted (200), then the charge is refunded, stock released, and the order CANCELLED', async () => {
      const seller = await createSellerWithProducts(slowApi.deps.db, [{ stock: 4 }]);
      const customer = await createCustomer(slowApi.deps.db);
      const productId = seller.products[0]!.id;
      const accepted = await request(slowApi.app)
        .post('/v1/orders')
        .set('Idempotency-Key', `e2e-cancel-${randomUUID()}`)
        .send(orderRequestBody(customer.id, [{ productId, quantity: 3 }]))
        .expect(202);
      const { orderId } = accepted.body as { orderId: string };
      await eventually(async () => {
        const saga = await request(slowApi.app).get(`/v1/orders/${orderId}/saga`);
        return saga.status === 200 && saga.body.step === 'take-payment' ? true : undefined;
      });

      const cancel = await request(slowApi.app)
        .post(`/v1/orders/${orderId}/cancel`)
        .send({ reason: 'found it cheaper' })
        .expect(200);

      expect(cancel.body).toMatchObject({ orderId, accepted: true });
      const cancelled = await eventually(async () => {
        const res = await request(slowApi.app).get(`/v1/orders/${orderId}`);
        return res.body.status === 'CANCELLED' ? res.body : undefined;
      });
      expect(cancelled.failureReason).toBe('found it cheaper');
      const payment = await slowApi.deps.db.payment.findUniqueOrThrow({
        where: { orderId },
        include: { refund: true },
      });
      expect(payment.status).toBe('REFUNDED');
      expect(payment.refund?.amountMinor).toBe(payment.amountMinor);
      const stock = await slowApi.deps.db.inventory.findUniqueOrThrow({ where: { productId } });
      expect(stock).toMatchObject({ onHand: 4, reserved: 0 });
    });
  });
});
