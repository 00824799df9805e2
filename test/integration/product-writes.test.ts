import { randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import request from 'supertest';
import type { Database } from '../../platform/database';
import { POSITION_HEADER } from '../../read-models/projections/projection';
import { createCustomer, createProduct, createSeller, deliverableAddress } from '../support/catalogue';
import { createOutboxDatabase, type OutboxDatabase } from '../support/outbox';
import { startApi, testConfig, type TestPlatform } from '../support/platform';

/**
 * Sellers' product writes and buyers' reviews through the HTTP API: every accepted write changes
 * the write model and appends its product events with their outbox rows in one transaction;
 * every refused one answers problem+json naming what is wrong and writes nothing.
 */
describe('product writes', () => {
  let outbox: OutboxDatabase;
  let api: TestPlatform;
  let app: RequestListener;
  let db: Database;
  let sellerId: string;

  beforeAll(async () => {
    // A database of its own, so "nothing was written" can count every row of the tables.
    outbox = await createOutboxDatabase('products');
    api = await startApi(testConfig({ DATABASE_URL: outbox.url }));
    db = api.deps.db;
    app = api.app;
  });
  afterAll(async () => {
    await api.close();
    await outbox.drop();
  });
  beforeEach(async () => {
    sellerId = (await createSeller(db)).id;
  });

  const productBody = (overrides: Record<string, unknown> = {}) => ({
    sellerId,
    sku: `SKU-${randomUUID().slice(0, 8)}`,
    name: 'Espresso grinder',
    description: 'Conical burrs, 40 steps',
    categoryPath: 'home/kitchen',
    priceMinor: 12_950,
    currency: 'EUR',
    stock: 20,
    ...overrides,
  });
  const post = (body: unknown) =>
    request(app)
      .post('/v1/products')
      .send(body as object);
  const patch = (productId: string, body: unknown, ifMatch?: string) => {
    const req = request(app).patch(`/v1/products/${productId}`);
    if (ifMatch !== undefined) req.set('If-Match', ifMatch);
    return req.send(body as object);
  };
  const review = (productId: string, body: unknown) =>
    request(app)
      .post(`/v1/products/${productId}/reviews`)
      .send(body as object);

  async function newProduct(overrides: Record<string, unknown> = {}): Promise<string> {
    const res = await post(productBody(overrides));
    expect(res.status).toBe(201);
    return (res.body as { productId: string }).productId;
  }

  const eventsOf = (productId: string) =>
    db.domainEvent.findMany({
      where: { aggregateId: productId },
      orderBy: { version: 'asc' },
      include: { outbox: true },
    });

  const rowCounts = async () => ({
    products: await db.product.count(),
    inventory: await db.inventory.count(),
    reviews: await db.productReview.count(),
    events: await db.domainEvent.count(),
    outbox: await db.outboxEvent.count(),
  });

  const fieldsOf = (res: request.Response): string[] =>
    (res.body as { errors?: { field: string }[] }).errors?.map((e) => e.field) ?? [];

  async function expectRefused(
    send: () => Promise<request.Response>,
    status: number,
    type: string,
    fields: string[],
  ): Promise<request.Response> {
    const before = await rowCounts();
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, type: `https://shopflow.dev/problems/${type}` });
    expect(fieldsOf(res)).toEqual(fields);
    expect(await rowCounts()).toEqual(before);
    return res;
  }

  /** An order of the product by the customer, written straight into the write model, in `status`. */
  async function orderOf(customerId: string, productId: string, status: string): Promise<void> {
    const orderId = randomUUID();
    await db.order.create({
      data: {
        id: orderId,
        customerId,
        workflowId: `order-${orderId}`,
        status,
        currency: 'EUR',
        itemCount: 1,
        subtotalMinor: 12_950n,
        commissionMinor: 1_295n,
        totalMinor: 12_950n,
        shippingAddress: { ...deliverableAddress },
        lines: {
          create: {
            lineNo: 1,
            productId,
            sellerId,
            productName: 'Espresso grinder',
            quantity: 1,
            unitPriceMinor: 12_950n,
            lineTotalMinor: 12_950n,
            commissionRateBps: 1000,
            commissionMinor: 1_295n,
          },
        },
      },
    });
  }

  describe('POST /v1/products', () => {
    it('creates the product with its stock, and ProductCreated with its outbox row in the same transaction', async () => {
      const body = productBody();

      const res = await post(body);

      expect(res.status).toBe(201);
      const { productId } = res.body as { productId: string };
      expect(res.headers['location']).toBe(`/v1/products/${productId}`);
      expect(res.headers['etag']).toBe('"1"');
      expect(res.headers[POSITION_HEADER.toLowerCase()]).toBe(`product:${productId}:1`);
      expect(res.body).toMatchObject({ ...body, productId, active: true, price: '129.50 EUR', version: 1 });
      expect(await db.inventory.findUnique({ where: { productId } })).toMatchObject({ onHand: 20, reserved: 0 });

      const events = await eventsOf(productId);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        aggregateType: 'product',
        version: 1,
        eventType: 'ProductCreated',
        causationKey: `product:create:${productId}`,
        payload: { ...body, active: true },
        outbox: { eventType: 'ProductCreated', version: 1, stream: 'shopflow:events:product', status: 'PENDING' },
      });
      // One transaction wrote them all: the rows carry the same inserting transaction id.
      const [xmins] = await db.$queryRaw<{ product: string; event: string; outboxRow: string }[]>`
        SELECT (SELECT xmin::text FROM products WHERE id = ${productId}::uuid) AS product,
               (SELECT xmin::text FROM domain_events WHERE aggregate_id = ${productId}::uuid) AS event,
               (SELECT xmin::text FROM outbox_events WHERE aggregate_id = ${productId}::uuid) AS "outboxRow"`;
      expect(xmins!.event).toBe(xmins!.product);
      expect(xmins!.outboxRow).toBe(xmins!.product);
    });

    it('refuses an unknown seller (422 naming body.sellerId)', async () => {
      const res = await expectRefused(
        () => post(productBody({ sellerId: randomUUID() })),
        422,
        'unprocessable-product',
        ['body.sellerId'],
      );
      expect(res.body.errors[0].code).toBe('unknown-seller');
    });

    it('refuses a sku the seller already has (409), but another seller may use it', async () => {
      const sku = `SKU-${randomUUID().slice(0, 8)}`;
      await newProduct({ sku });

      await expectRefused(() => post(productBody({ sku })), 409, 'duplicate-sku', ['body.sku']);

      const other = (await createSeller(db)).id;
      expect((await post(productBody({ sku, sellerId: other }))).status).toBe(201);
    });

    it('gives one of two concurrent creates of one sku 201 and the other 409', async () => {
      const body = productBody();

      const statuses = (await Promise.all([post(body), post(body)])).map((res) => res.status).sort();

      expect(statuses).toEqual([201, 409]);
      expect(await db.product.count({ where: { sellerId, sku: body.sku } })).toBe(1);
    });

    it.each([
      ['a missing name', { name: undefined }, ['body.name']],
      ['missing sellerId and stock', { sellerId: undefined, stock: undefined }, ['body.sellerId', 'body.stock']],
      ['an unknown field', { colour: 'red' }, ['body']],
      ['a negative price', { priceMinor: -1 }, ['body.priceMinor']],
      ['a fractional price', { priceMinor: 10.5 }, ['body.priceMinor']],
      ['a price beyond safe integers', { priceMinor: 2 ** 53 }, ['body.priceMinor']],
      ['a price as a string', { priceMinor: '10' }, ['body.priceMinor']],
      ['a lower-case currency', { currency: 'eur' }, ['body.currency']],
      ['a currency that does not exist', { currency: 'ABC' }, ['body.currency']],
      ['negative stock', { stock: -1 }, ['body.stock']],
      ['a seller id that is not a UUID', { sellerId: 'seller-1' }, ['body.sellerId']],
      ['a sku with spaces', { sku: 'my sku' }, ['body.sku']],
      ['a category path with capitals', { categoryPath: 'Home/Kitchen' }, ['body.categoryPath']],
      ['active as a string', { active: 'yes' }, ['body.active']],
      ['an empty name and a bad currency', { name: ' ', currency: 'EURO' }, ['body.name', 'body.currency']],
    ])('refuses %s (400 naming each field), writing nothing', async (_what, overrides, fields) => {
      await expectRefused(() => post(productBody(overrides)), 400, 'validation-error', fields);
    });
  });

  describe('PATCH /v1/products/:productId', () => {
    it('changes price, stock and active, appending ProductUpdated with only the changed fields', async () => {
      const productId = await newProduct();

      const res = await patch(productId, { priceMinor: 9_900, stock: 35, active: false, name: 'Espresso grinder' });

      expect(res.status).toBe(200);
      expect(res.headers['etag']).toBe('"2"');
      expect(res.headers[POSITION_HEADER.toLowerCase()]).toBe(`product:${productId}:2`);
      expect(res.body).toMatchObject({ productId, priceMinor: 9_900, price: '99.00 EUR', stock: 35, active: false });
      expect(await db.product.findUnique({ where: { id: productId } })).toMatchObject({
        priceMinor: 9_900n,
        active: false,
      });
      expect(await db.inventory.findUnique({ where: { productId } })).toMatchObject({ onHand: 35 });
      const events = await eventsOf(productId);
      expect(events.map((e) => [e.version, e.eventType, e.outbox?.eventType])).toEqual([
        [1, 'ProductCreated', 'ProductCreated'],
        [2, 'ProductUpdated', 'ProductUpdated'],
      ]);
      // The name was sent unchanged, so the event leaves it out.
      expect(events[1]!.payload).toEqual({ changes: { priceMinor: 9_900, stock: 35, active: false } });
    });

    it('appends nothing for a change that changes nothing, and answers the current version', async () => {
      const productId = await newProduct({ priceMinor: 500, stock: 3 });
      const before = await rowCounts();

      const res = await patch(productId, { priceMinor: 500, stock: 3 });

      expect(res.status).toBe(200);
      expect(res.headers['etag']).toBe('"1"');
      expect(res.headers[POSITION_HEADER.toLowerCase()]).toBe(`product:${productId}:1`);
      expect(await rowCounts()).toEqual(before);
    });

    it('applies the change when If-Match names the current version, and 412 when it does not', async () => {
      const productId = await newProduct();
      expect((await patch(productId, { priceMinor: 1_000 }, '"1"')).status).toBe(200);

      const res = await expectRefused(
        () => patch(productId, { priceMinor: 2_000 }, '"1"'),
        412,
        'precondition-failed',
        ['header.If-Match'],
      );

      expect(res.body.currentVersion).toBe(2);
      expect((await db.product.findUniqueOrThrow({ where: { id: productId } })).priceMinor).toBe(1_000n);
    });

    it('refuses stock below the units reserved for open orders (422 naming body.stock)', async () => {
      const productId = await newProduct({ stock: 10 });
      await db.inventory.update({ where: { productId }, data: { reserved: 6 } });

      const res = await expectRefused(() => patch(productId, { stock: 5 }), 422, 'unprocessable-product', [
        'body.stock',
      ]);

      expect(res.body).toMatchObject({ reserved: 6, errors: [{ code: 'stock-below-reserved' }] });
      expect((await patch(productId, { stock: 6 })).status).toBe(200);
    });

    it('serializes two concurrent changes: both succeed, as versions 2 and 3', async () => {
      const productId = await newProduct();

      const responses = await Promise.all([patch(productId, { priceMinor: 111 }), patch(productId, { stock: 7 })]);

      expect(responses.map((r) => r.status)).toEqual([200, 200]);
      expect(responses.map((r) => (r.body as { version: number }).version).sort()).toEqual([2, 3]);
      expect((await eventsOf(productId)).map((e) => e.version)).toEqual([1, 2, 3]);
      expect(responses.find((r) => r.body.version === 3)?.body).toMatchObject({ priceMinor: 111, stock: 7 });
    });

    it('first records ProductCreated from the row for a product written before products had events', async () => {
      const legacy = await createProduct(db, { sellerId, priceMinor: 700, stock: 4 });

      const res = await patch(legacy.id, { priceMinor: 650 }, '"0"');

      expect(res.status).toBe(200);
      expect(res.headers['etag']).toBe('"2"');
      const events = await eventsOf(legacy.id);
      expect(events.map((e) => [e.eventType, e.payload])).toEqual([
        [
          'ProductCreated',
          {
            sellerId,
            sku: legacy.sku,
            name: legacy.name,
            description: '',
            categoryPath: legacy.categoryPath,
            priceMinor: 700,
            currency: 'EUR',
            stock: 4,
            active: true,
          },
        ],
        ['ProductUpdated', { changes: { priceMinor: 650 } }],
      ]);
    });

    it('answers 404 for an unknown product', async () => {
      await expectRefused(() => patch(randomUUID(), { stock: 1 }), 404, 'not-found', []);
    });

    it.each([
      ['an empty change', {}, ['body']],
      ['the sku, which is fixed', { sku: 'NEW-1' }, ['body']],
      ['the currency, which is fixed', { currency: 'USD' }, ['body']],
      ['a negative price', { priceMinor: -5 }, ['body.priceMinor']],
      ['fractional stock and a non-boolean active', { stock: 1.5, active: 1 }, ['body.stock', 'body.active']],
    ])('refuses %s (400 naming each field), writing nothing', async (_what, body, fields) => {
      const productId = await newProduct();
      const res = await expectRefused(() => patch(productId, body), 400, 'validation-error', fields);
      // An unknown field is named in the message.
      for (const key of Object.keys(body)) expect(JSON.stringify(res.body.errors)).toContain(key);
    });

    it('refuses a path id that is not a UUID and a malformed If-Match (400)', async () => {
      const productId = await newProduct();
      await expectRefused(() => patch('not-a-uuid', { stock: 1 }), 400, 'validation-error', ['path.productId']);
      await expectRefused(() => patch(productId, { stock: 1 }, 'W/"1"'), 400, 'validation-error', ['header.If-Match']);
    });
  });

  describe('POST /v1/products/:productId/reviews', () => {
    let productId: string;
    let buyer: string;

    beforeEach(async () => {
      productId = await newProduct();
      buyer = (await createCustomer(db)).id;
      await orderOf(buyer, productId, 'SHIPPED');
    });

    const goodReview = (overrides: Record<string, unknown> = {}) => ({
      customerId: buyer,
      rating: 4,
      body: 'Grinds evenly, a bit loud.',
      ...overrides,
    });

    it('records a buyer’s review and appends ProductReviewed', async () => {
      const res = await review(productId, goodReview());

      expect(res.status).toBe(201);
      expect(res.headers[POSITION_HEADER.toLowerCase()]).toBe(`product:${productId}:2`);
      const { reviewId } = res.body as { reviewId: string };
      expect(res.body).toMatchObject({ productId, customerId: buyer, rating: 4, productVersion: 2 });
      expect(await db.productReview.findUnique({ where: { id: reviewId } })).toMatchObject({ rating: 4 });
      const events = await eventsOf(productId);
      expect(events[1]).toMatchObject({
        version: 2,
        eventType: 'ProductReviewed',
        causationKey: `review:${reviewId}`,
        payload: { reviewId, customerId: buyer, rating: 4, body: 'Grinds evenly, a bit loud.' },
        outbox: { eventType: 'ProductReviewed' },
      });
    });

    it('accepts a customer whose order was delivered', async () => {
      const customer = (await createCustomer(db)).id;
      await orderOf(customer, productId, 'DELIVERED');
      expect((await review(productId, goodReview({ customerId: customer }))).status).toBe(201);
    });

    it('refuses a customer whose order has not shipped (403 not-a-buyer)', async () => {
      const customer = (await createCustomer(db)).id;
      await orderOf(customer, productId, 'PAID');
      await expectRefused(() => review(productId, goodReview({ customerId: customer })), 403, 'not-a-buyer', [
        'body.customerId',
      ]);
    });

    it('refuses a second review by the same customer (409)', async () => {
      expect((await review(productId, goodReview())).status).toBe(201);
      await expectRefused(() => review(productId, goodReview({ rating: 1 })), 409, 'already-reviewed', [
        'body.customerId',
      ]);
    });

    it('refuses an unknown customer (422) and an unknown product (404)', async () => {
      await expectRefused(
        () => review(productId, goodReview({ customerId: randomUUID() })),
        422,
        'unprocessable-review',
        ['body.customerId'],
      );
      await expectRefused(() => review(randomUUID(), goodReview()), 404, 'not-found', []);
    });

    it.each([
      ['rating 0', { rating: 0 }, ['body.rating']],
      ['rating 6', { rating: 6 }, ['body.rating']],
      ['rating 2.5', { rating: 2.5 }, ['body.rating']],
      ['a missing body', { body: undefined }, ['body.body']],
      ['an unknown field', { title: 'Great' }, ['body']],
      ['a customer id that is not a UUID', { customerId: '42' }, ['body.customerId']],
    ])('refuses %s (400 naming each field), writing nothing', async (_what, overrides, fields) => {
      await expectRefused(() => review(productId, goodReview(overrides)), 400, 'validation-error', fields);
    });
  });
});
