import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createIdempotencyStore, requestHash } from '../../api/orders/idempotency';
import { createOrderScope } from '../../api/orders/order-routes';
import { orderWorkflowId } from '../../domain/ids';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import { eventually, startApi, testConfig, type TestPlatform } from '../support/platform';

/**
 * Idempotency-Key on POST /v1/orders, Stripe's semantics: a retry gets the first answer, a key
 * cannot be reused for another request, and however many copies of a request race, one order starts.
 */
describe('idempotent order creation', () => {
  let api: TestPlatform;
  let productId: string;

  beforeAll(async () => {
    api = await startApi(testConfig());
    productId = (await createSellerWithProducts(api.deps.db)).products[0]!.id;
  });
  afterAll(() => api.close());

  const newKey = (): string => `test-${randomUUID()}`;
  const post = (key: string, body: object) =>
    request(api.app).post('/v1/orders').set('Idempotency-Key', key).send(body);

  async function newOrderBody(quantity = 1): Promise<Record<string, unknown>> {
    const customer = await createCustomer(api.deps.db);
    return orderRequestBody(customer.id, [{ productId, quantity }]);
  }

  async function workflowsOf(customerId: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const execution of api.deps.temporal.client.workflow.list({ query: `CustomerId = "${customerId}"` })) {
      ids.push(execution.workflowId);
    }
    return ids;
  }

  const describeOrder = (orderId: string) =>
    api.deps.temporal.client.workflow.getHandle(orderWorkflowId(orderId)).describe();

  /** A key row as an earlier attempt left it. */
  async function seedKey(key: string, body: object, row: { lockedUntil: Date; expiresAt?: Date }): Promise<string> {
    const resourceId = randomUUID();
    await api.deps.db.idempotencyKey.create({
      data: {
        scope: createOrderScope(api.operator),
        key,
        requestHash: requestHash(body),
        state: 'IN_PROGRESS',
        resourceId,
        lockedUntil: row.lockedUntil,
        expiresAt: row.expiresAt ?? new Date(Date.now() + 60_000),
      },
    });
    return resourceId;
  }

  it('replays the first response to a retry with the same key and body, starting one workflow', async () => {
    const body = await newOrderBody();
    const key = newKey();

    const first = await post(key, body).expect(202);
    const retry = await post(key, body).expect(202);

    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(first.body).toEqual({ orderId: expect.any(String), status: 'PENDING', workflowId: expect.any(String) });
    expect(first.headers['location']).toBe(`/v1/orders/${first.body.orderId}`);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers['location']).toBe(first.headers['location']);
    expect(retry.body).toEqual(first.body);
    expect((await describeOrder(first.body.orderId)).status.name).toBe('RUNNING');
    expect(
      await eventually(async () => ((await workflowsOf(body['customerId'] as string)).length > 0 ? true : undefined)),
    ).toBe(true);
    expect(await workflowsOf(body['customerId'] as string)).toEqual([orderWorkflowId(first.body.orderId)]);
  });

  it('writes the key once for an order (its claim): a retry that finds the order stores the answer', async () => {
    const body = await newOrderBody();
    const key = newKey();
    const keyRow = () =>
      api.deps.db.idempotencyKey.findUniqueOrThrow({
        where: { scope_key: { scope: createOrderScope(api.operator), key } },
      });

    const first = await post(key, body).expect(202);
    // Still locked as claimed: the workflow's existence is the record that the request succeeded.
    expect(await keyRow()).toMatchObject({
      state: 'IN_PROGRESS',
      resourceId: first.body.orderId,
      responseStatus: null,
    });

    const retry = await post(key, body).expect(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await keyRow()).toMatchObject({ state: 'COMPLETED', responseStatus: 202, responseBody: first.body });

    // Later retries replay the stored answer.
    const again = await post(key, body).expect(202);
    expect(again.body).toEqual(first.body);
  });

  it('serves the accepted order at its Location before the worker has recorded it', async () => {
    const body = await newOrderBody(2);
    const accepted = await post(newKey(), body).expect(202);

    const res = await request(api.app).get(accepted.headers['location']!).expect(200);

    expect(res.body).toMatchObject({
      orderId: accepted.body.orderId,
      customerId: body['customerId'],
      status: 'PENDING',
      currency: 'EUR',
      itemCount: 2,
      totalMinor: 2_000,
      total: '20.00 EUR',
      lines: [{ lineNo: 1, productId, quantity: 2, unitPriceMinor: 1_000, lineTotalMinor: 2_000 }],
      shipments: [],
    });
  });

  it('releases the key when Temporal is unreachable, so a retry resumes the same order at once', async () => {
    const unreachable = await startApi(testConfig({ TEMPORAL_ADDRESS: '127.0.0.1:1' }));
    try {
      const key = newKey();
      const body = await newOrderBody();
      // The client retries the unreachable frontend for about 20 s before giving up.
      // The same caller (key) as the retry below: idempotency keys are per caller.
      const failed = await request(unreachable.app)
        .post('/v1/orders')
        .set('Authorization', `Bearer ${api.operatorKey}`)
        .set('Idempotency-Key', key)
        .send(body);
      expect(failed.status).toBe(503);
      const row = await api.deps.db.idempotencyKey.findUniqueOrThrow({
        where: { scope_key: { scope: createOrderScope(api.operator), key } },
      });
      expect(row.state).toBe('IN_PROGRESS');
      expect(row.lockedUntil.getTime()).toBeLessThanOrEqual(Date.now());

      const retry = await post(key, body).expect(202);

      expect(retry.body.orderId).toBe(row.resourceId);
    } finally {
      await unreachable.close();
    }
  });

  it('refuses the same key with another body (422)', async () => {
    const key = newKey();
    const body = await newOrderBody(1);
    await post(key, body).expect(202);

    const res = await post(key, { ...body, items: [{ productId, quantity: 2 }] });

    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('https://shopflow.dev/problems/idempotency-key-reused');
  });

  it('answers 409 while the first request with the key is still running', async () => {
    const key = newKey();
    const body = await newOrderBody();
    await seedKey(key, body, { lockedUntil: new Date(Date.now() + 60_000) });

    const res = await post(key, body);

    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('https://shopflow.dev/problems/idempotency-key-in-use');
    expect(res.headers['retry-after']).toBeDefined();
    expect(await workflowsOf(body['customerId'] as string)).toEqual([]);
  });

  it('lets a retry take over a key whose lock expired, resuming the same order id', async () => {
    const key = newKey();
    const body = await newOrderBody();
    const orderId = await seedKey(key, body, { lockedUntil: new Date(Date.now() - 1_000) });

    const res = await post(key, body).expect(202);

    expect(res.body.orderId).toBe(orderId);
    expect((await describeOrder(orderId)).status.name).toBe('RUNNING');
    const row = await api.deps.db.idempotencyKey.findUniqueOrThrow({
      where: { scope_key: { scope: createOrderScope(api.operator), key } },
    });
    expect(row).toMatchObject({ state: 'COMPLETED', resourceId: orderId, responseStatus: 202 });
  });

  it('treats a workflow the first attempt already started as success when a retry takes over', async () => {
    const key = newKey();
    const body = await newOrderBody();
    const first = await post(key, body).expect(202);
    // As if the first attempt started the workflow but died before recording its response.
    await api.deps.db.idempotencyKey.update({
      where: { scope_key: { scope: createOrderScope(api.operator), key } },
      data: { state: 'IN_PROGRESS', responseStatus: null, lockedUntil: new Date(Date.now() - 1_000) },
    });

    const retry = await post(key, body).expect(202);

    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    await eventually(async () => ((await workflowsOf(body['customerId'] as string)).length > 0 ? true : undefined));
    expect(await workflowsOf(body['customerId'] as string)).toEqual([orderWorkflowId(first.body.orderId)]);
  });

  it('starts exactly one workflow for 50 concurrent requests with one key', async () => {
    const key = newKey();
    const body = await newOrderBody();

    const responses = await Promise.all(Array.from({ length: 50 }, () => post(key, body)));

    const statuses = new Set(responses.map((r) => r.status));
    expect([...statuses].every((s) => s === 202 || s === 409)).toBe(true);
    const orderIds = new Set(responses.filter((r) => r.status === 202).map((r) => r.body.orderId as string));
    expect(orderIds.size).toBe(1);
    const [orderId] = [...orderIds];
    expect((await describeOrder(orderId!)).status.name).toBe('RUNNING');
    await eventually(async () => ((await workflowsOf(body['customerId'] as string)).length > 0 ? true : undefined));
    expect(await workflowsOf(body['customerId'] as string)).toEqual([orderWorkflowId(orderId!)]);
  });

  it('treats an expired key as absent: a new request may reuse it', async () => {
    const key = newKey();
    const old = await newOrderBody();
    await seedKey(key, old, { lockedUntil: new Date(Date.now() - 60_000), expiresAt: new Date(Date.now() - 1_000) });
    const body = await newOrderBody(3);

    const res = await post(key, body).expect(202);

    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect((await describeOrder(res.body.orderId)).status.name).toBe('RUNNING');
  });

  it('sweeps expired keys, after which the key may be used again', async () => {
    const store = createIdempotencyStore(api.deps.db, api.config.idempotency);
    const key = newKey();
    const body = await newOrderBody();
    const first = await post(key, body).expect(202);
    await api.deps.db.idempotencyKey.update({
      where: { scope_key: { scope: createOrderScope(api.operator), key } },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });

    expect(await store.sweepExpired(new Date())).toBeGreaterThanOrEqual(1);
    expect(await api.deps.db.idempotencyKey.count({ where: { key } })).toBe(0);

    const again = await post(key, body).expect(202);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.body.orderId).not.toBe(first.body.orderId);
  });

  it('keeps keys that have not expired when sweeping', async () => {
    const store = createIdempotencyStore(api.deps.db, api.config.idempotency);
    const key = newKey();
    await post(key, await newOrderBody()).expect(202);

    await store.sweepExpired(new Date());

    expect(await api.deps.db.idempotencyKey.count({ where: { key } })).toBe(1);
  });
});
