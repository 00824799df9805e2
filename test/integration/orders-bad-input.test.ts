import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import { startApi, testConfig, type TestPlatform } from '../support/platform';

/**
 * Every kind of bad order request gets a 4xx problem+json naming what is wrong, and leaves nothing
 * behind: no order row, no idempotency key, no workflow.
 */
describe('POST /v1/orders with bad input', () => {
  let api: TestPlatform;
  let customerId: string;
  let eur: string[];
  let usd: string;

  beforeAll(async () => {
    api = await startApi(testConfig());
    eur = (await createSellerWithProducts(api.deps.db, [{}, {}])).products.map((p) => p.id);
    usd = (await createSellerWithProducts(api.deps.db, [{ currency: 'USD' }])).products[0]!.id;
  });
  afterAll(() => api.close());
  // A customer of their own per test, so "nothing was written for this customer" means this request.
  beforeEach(async () => {
    customerId = (await createCustomer(api.deps.db)).id;
  });

  const fieldsOf = (res: request.Response): string[] =>
    (res.body as { errors: { field: string }[] }).errors.map((e) => e.field);
  const newKey = (): string => `test-${randomUUID()}`;

  const post = (body: unknown, key: string | null = newKey()) => {
    const req = request(api.app).post('/v1/orders');
    if (key !== null) req.set('Idempotency-Key', key);
    return req.send(body as object);
  };

  async function expectRejected(
    res: request.Response,
    status: number,
    type: string,
    fields: string[] | undefined,
    { customer = customerId, key }: { customer?: string; key?: string } = {},
  ): Promise<void> {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, type: `https://shopflow.dev/problems/${type}` });
    if (fields === undefined) expect(res.body.errors).toBeUndefined();
    else expect(fieldsOf(res)).toEqual(fields);
    await expectNothingWritten(customer, key);
  }

  async function expectNothingWritten(customer: string, key: string | undefined): Promise<void> {
    const { db, temporal } = api.deps;
    expect(await db.order.count({ where: { customerId: customer } })).toBe(0);
    if (key !== undefined) expect(await db.idempotencyKey.count({ where: { key } })).toBe(0);
    const started = [];
    for await (const execution of temporal.client.workflow.list({ query: `CustomerId = "${customer}"` })) {
      started.push(execution.workflowId);
    }
    expect(started).toEqual([]);
  }

  const valid = (overrides: Record<string, unknown> = {}) =>
    orderRequestBody(customerId, [{ productId: eur[0]!, quantity: 1 }], overrides);

  it('needs an Idempotency-Key (400 naming the header)', async () => {
    const res = await post(valid(), null);
    await expectRejected(res, 400, 'validation-error', ['header.Idempotency-Key']);
  });

  it('refuses a malformed Idempotency-Key (400)', async () => {
    const key = 'not a valid key!';
    await expectRejected(await post(valid(), key), 400, 'validation-error', ['header.Idempotency-Key'], { key });
  });

  it('refuses an unknown product (422), and forgets the key', async () => {
    const key = newKey();
    const res = await post(valid({ items: [{ productId: randomUUID(), quantity: 1 }] }), key);
    await expectRejected(res, 422, 'unprocessable-order', ['body.items.0.productId'], { key });
    expect(res.body.errors[0].code).toBe('unknown-product');
  });

  it('refuses an unknown customer (422), and forgets the key', async () => {
    const key = newKey();
    const stranger = randomUUID();
    const res = await post(orderRequestBody(stranger, [{ productId: eur[0]!, quantity: 1 }]), key);
    await expectRejected(res, 422, 'unprocessable-order', ['body.customerId'], { key, customer: stranger });
  });

  it.each([[0], [-1], [1.5], ['2']])('refuses quantity %p (400)', async (quantity) => {
    const key = newKey();
    const res = await post(valid({ items: [{ productId: eur[0]!, quantity }] }), key);
    await expectRejected(res, 400, 'validation-error', ['body.items.0.quantity'], { key });
  });

  it('refuses an order without items (400)', async () => {
    const key = newKey();
    await expectRejected(await post(valid({ items: [] }), key), 400, 'validation-error', ['body.items'], { key });
  });

  it('refuses more items than ORDER_MAX_ITEMS (400)', async () => {
    const key = newKey();
    const items = Array.from({ length: api.config.orders.maxItems + 1 }, () => ({
      productId: randomUUID(),
      quantity: 1,
    }));
    const res = await post(valid({ items }), key);
    await expectRejected(res, 400, 'validation-error', ['body.items'], { key });
    expect(res.body.errors[0].message).toBe(`must have at most ${api.config.orders.maxItems} items`);
  });

  it('refuses the same product twice (422)', async () => {
    const key = newKey();
    const items = [
      { productId: eur[0]!, quantity: 1 },
      { productId: eur[0]!, quantity: 2 },
    ];
    const res = await post(valid({ items }), key);
    await expectRejected(res, 422, 'unprocessable-order', ['body.items.1.productId'], { key });
    expect(res.body.errors[0].code).toBe('duplicate-product');
  });

  it('refuses products priced in different currencies (422)', async () => {
    const key = newKey();
    const items = [
      { productId: eur[0]!, quantity: 1 },
      { productId: usd, quantity: 1 },
    ];
    const res = await post(valid({ items }), key);
    await expectRejected(res, 422, 'unprocessable-order', ['body.items'], { key });
    expect(res.body.errors[0].code).toBe('mixed-currency');
  });

  it('refuses a country that is not ISO 3166-1 alpha-2 (400)', async () => {
    const key = newKey();
    const body = valid();
    body['shippingAddress'] = { ...(body['shippingAddress'] as object), country: 'Germany' };
    await expectRejected(await post(body, key), 400, 'validation-error', ['body.shippingAddress.country'], { key });
  });

  it('refuses a malformed payment token (400)', async () => {
    const key = newKey();
    const res = await post(valid({ payment: { token: 'card 4242 4242 4242 4242' } }), key);
    await expectRejected(res, 400, 'validation-error', ['body.payment.token'], { key });
  });

  it('refuses an unknown field (400)', async () => {
    const key = newKey();
    const res = await post(valid({ totalMinor: 1 }), key);
    await expectRejected(res, 400, 'validation-error', ['body'], { key });
    expect(res.body.errors[0].message).toContain('totalMinor');
  });

  it('refuses malformed JSON (400)', async () => {
    const key = newKey();
    const res = await request(api.app)
      .post('/v1/orders')
      .set('Idempotency-Key', key)
      .set('Content-Type', 'application/json')
      .send(`{"customerId":"${customerId}","items":[`);
    await expectRejected(res, 400, 'malformed-json', undefined, { key });
  });

  it('refuses a body that is not JSON (415)', async () => {
    const key = newKey();
    const res = await request(api.app)
      .post('/v1/orders')
      .set('Idempotency-Key', key)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(`customerId=${customerId}`);
    await expectRejected(res, 415, 'unsupported-media-type', undefined, { key });
  });

  it('refuses a body over the size limit (413)', async () => {
    const key = newKey();
    const res = await post(valid({ note: 'x'.repeat(200_000) }), key);
    await expectRejected(res, 413, 'payload-too-large', undefined, { key });
  });

  it('answers 404 for an order that does not exist and 400 for a malformed id', async () => {
    const missing = await request(api.app).get(`/v1/orders/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    const malformed = await request(api.app).get('/v1/orders/42');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([{ field: 'path.orderId', message: 'must be a UUID' }]);
  });

  it('answers 404 for the saga, cancellation or delivery of something that does not exist', async () => {
    const saga = await request(api.app).get(`/v1/orders/${randomUUID()}/saga`);
    expect(saga.status).toBe(404);
    const cancel = await request(api.app).post(`/v1/orders/${randomUUID()}/cancel`).send({ reason: 'changed my mind' });
    expect(cancel.status).toBe(404);
    const delivered = await request(api.app).post(`/v1/shipments/${randomUUID()}/delivered`);
    expect(delivered.status).toBe(404);
    for (const res of [saga, cancel, delivered])
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('refuses a cancellation reason over 500 characters and a malformed delivery time (400)', async () => {
    const cancel = await request(api.app)
      .post(`/v1/orders/${randomUUID()}/cancel`)
      .send({ reason: 'x'.repeat(501) });
    expect(cancel.status).toBe(400);
    expect(fieldsOf(cancel)).toEqual(['body.reason']);
    const delivered = await request(api.app)
      .post(`/v1/shipments/${randomUUID()}/delivered`)
      .send({ deliveredAt: 'yesterday' });
    expect(delivered.status).toBe(400);
    expect(fieldsOf(delivered)).toEqual(['body.deliveredAt']);
  });
});
