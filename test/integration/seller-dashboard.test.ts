import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler } from 'express';
import pino from 'pino';
import request from 'supertest';
import {
  ORDER_AGGREGATE,
  orderEvent,
  type OrderEvent,
  type OrderEventLine,
  type OrderEventPayloads,
} from '../../domain/order-events';
import type { OrderStatus } from '../../domain/order-status';
import type { AppDeps } from '../../api/deps';
import { HttpProblem, sendProblem } from '../../api/http/problem';
import { sellerDashboardRoutes } from '../../api/sellers/seller-dashboard-routes';
import { createReadCache, type ReadCache } from '../../read-models/cache';
import type { Config } from '../../platform/config';
import { type Database, type Tx, createDatabase } from '../../platform/database';
import { recalculateDashboards, type SellerDrift } from '../../read-models/seller-dashboard/recalculation';
import { appendEvents, currentVersion } from '../../events/event-store';
import { createWorkerMetrics } from '../../platform/metrics';
import { createRedis, type RedisClient } from '../../platform/redis';
import { createProduct as writeProduct, reviewProduct, updateProduct } from '../../catalogue/product-store';
import { rebuildProjection } from '../../read-models/projections/rebuild';
import { catchUp } from '../../read-models/projections/runner';
import { sellerDashboardProjection, type SellerDashboardRow } from '../../read-models/projections/seller-dashboard';
import { createCustomer, createProduct as insertProductWithoutEvents, createSeller } from '../support/catalogue';
import { deliverableAddress } from '../support/order-fixtures';
import { createOrderRow } from '../support/order-history';
import { createOutboxDatabase, redisUrlOn, type OutboxDatabase } from '../support/outbox';
import { actingAs, testConfig, testOperator } from '../support/platform';

/**
 * The seller dashboard read model against a database of its own: orders are written as the saga
 * writes them (write-model rows and their events in one transaction, without running the saga),
 * products through the product store, and the projection is driven with catchUp.
 */

const REDIS_DB = 15;
let outbox: OutboxDatabase;
let config: Config;
let db: Database;
let redis: RedisClient;
let cache: ReadCache;
let app: express.Express;

beforeAll(async () => {
  outbox = await createOutboxDatabase('dashboard');
  config = testConfig({ DATABASE_URL: outbox.url, REDIS_URL: redisUrlOn(REDIS_DB) });
  db = createDatabase(config);
  redis = createRedis(config, 'seller-dashboard-test');
  await redis.connect();
  await redis.flushdb();
  const logger = pino({ level: 'silent' });
  cache = createReadCache({ redis, ttlMs: config.cache.ttlMs, logger });
  app = dashboardApp({ db, cache, config, logger } as unknown as AppDeps);
});

afterAll(async () => {
  await db?.$disconnect();
  redis?.disconnect();
  await outbox?.drop();
});

/** The route as api/app.ts mounts it, with the app's problem handling, called by an operator. */
function dashboardApp(deps: AppDeps): express.Express {
  const server = express();
  server.use(actingAs(testOperator));
  server.use(sellerDashboardRoutes(deps));
  const problems: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    if (!(error instanceof HttpProblem)) throw error;
    sendProblem(res, error, req.originalUrl);
  };
  server.use(problems);
  return server;
}

const project = (batchSize?: number) =>
  catchUp({ db, projection: sellerDashboardProjection, cache, ...(batchSize ? { batchSize } : {}) });

// ---- orders, written as the saga's activities write them -------------------------------------

interface LineSpec {
  sellerId: string;
  productId: string;
  totalMinor: number;
}

async function step(orderId: string, tx: Tx, event: OrderEvent): Promise<void> {
  await appendEvents(tx, {
    aggregateType: ORDER_AGGREGATE,
    aggregateId: orderId,
    expectedVersion: await currentVersion(tx, orderId),
    events: [event],
    correlation: { causationKey: `test:${randomUUID()}` },
  });
}

async function placeOrder(customerId: string, specs: LineSpec[]): Promise<string> {
  const orderId = randomUUID();
  const lines: OrderEventLine[] = specs.map((s, index) => ({
    lineNo: index + 1,
    productId: s.productId,
    sellerId: s.sellerId,
    name: `product ${index + 1}`,
    quantity: 1,
    unitPriceMinor: s.totalMinor,
    lineTotalMinor: s.totalMinor,
    commissionRateBps: 1000,
    commissionMinor: Math.round(s.totalMinor / 10),
  }));
  const subtotal = specs.reduce((sum, s) => sum + s.totalMinor, 0);
  const totals = { itemCount: lines.length, subtotalMinor: subtotal, commissionMinor: 0, totalMinor: subtotal };
  const placed: OrderEventPayloads['OrderPlaced'] = {
    customerId,
    workflowId: `order-${orderId}`,
    currency: 'EUR',
    lines,
    totals,
    shippingAddress: { ...deliverableAddress },
  };
  await db.$transaction(async (tx) => {
    await createOrderRow(tx, orderId, placed);
    await step(orderId, tx, orderEvent('OrderPlaced', placed));
  });
  return orderId;
}

const moveTo = (tx: Tx, orderId: string, status: OrderStatus) =>
  tx.order.update({ where: { id: orderId }, data: { status } });

async function reserve(orderId: string): Promise<void> {
  await db.$transaction(async (tx) => {
    await moveTo(tx, orderId, 'INVENTORY_RESERVED');
    await step(orderId, tx, orderEvent('InventoryReserved', { lines: [] }));
  });
}

async function pay(orderId: string): Promise<void> {
  await db.$transaction(async (tx) => {
    const order = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
    const payment = await tx.payment.create({
      data: {
        orderId,
        amountMinor: order.totalMinor,
        currency: 'EUR',
        provider: 'test',
        providerChargeId: `ch-${randomUUID()}`,
        idempotencyKey: `pay-${orderId}`,
        status: 'CAPTURED',
      },
    });
    await moveTo(tx, orderId, 'PAID');
    const amountMinor = Number(order.totalMinor);
    await step(orderId, tx, orderEvent('PaymentCaptured', { paymentId: payment.id, amountMinor, currency: 'EUR' }));
  });
}

async function refundAndCancel(orderId: string): Promise<void> {
  await db.$transaction(async (tx) => {
    const payment = await tx.payment.update({ where: { orderId }, data: { status: 'REFUNDED' } });
    await tx.refund.create({
      data: {
        paymentId: payment.id,
        amountMinor: payment.amountMinor,
        providerRefundId: `re-${randomUUID()}`,
        idempotencyKey: `refund-${orderId}`,
      },
    });
    const amountMinor = Number(payment.amountMinor);
    await step(orderId, tx, orderEvent('PaymentRefunded', { paymentId: payment.id, amountMinor }));
    await moveTo(tx, orderId, 'CANCELLED');
    await step(orderId, tx, orderEvent('OrderCancelled', { reason: 'customer asked' }));
  });
}

async function fail(orderId: string): Promise<void> {
  await db.$transaction(async (tx) => {
    await moveTo(tx, orderId, 'FAILED');
    await step(orderId, tx, orderEvent('OrderFailed', { reason: 'out of stock' }));
  });
}

async function shipAndDeliver(orderId: string): Promise<void> {
  await db.$transaction(async (tx) => {
    await moveTo(tx, orderId, 'SHIPPED');
    await step(orderId, tx, orderEvent('ShipmentsCreated', { shipments: [] }));
  });
  await db.$transaction(async (tx) => {
    await moveTo(tx, orderId, 'DELIVERED');
    await step(orderId, tx, orderEvent('OrderDelivered', {}));
  });
}

// ---- reading the view ------------------------------------------------------------------------

/** The route's row without `updated_at`, plus the facts' rating sum the recalculation compares. */
type ViewRow = Omit<SellerDashboardRow, 'updated_at'> & { rating_sum: string };

async function viewRows(): Promise<ViewRow[]> {
  return db.$queryRawUnsafe<ViewRow[]>(
    `SELECT seller_id::text, seller_name, total_orders, pending_orders, paid_orders,
       total_revenue_minor::text, monthly_revenue_minor::text, revenue_month::text,
       average_order_value_minor::text, total_products, active_products, review_count, rating_sum::text,
       average_rating::text, last_calculated_at
     FROM read_models.seller_dashboard_view ORDER BY seller_id`,
  );
}

async function viewRow(sellerId: string): Promise<ViewRow | undefined> {
  return (await viewRows()).find((row) => row.seller_id === sellerId);
}

const thisMonth = () => `${new Date().toISOString().slice(0, 7)}-01`;

const productFields = (overrides: { active?: boolean } = {}) => ({
  sku: `SKU-${randomUUID().slice(0, 8)}`,
  name: 'A thing',
  description: '',
  categoryPath: 'test/things',
  priceMinor: 1_000,
  currency: 'EUR',
  stock: 50,
  active: overrides.active ?? true,
});

/**
 * Seller A: two products (one later deactivated) and five orders in every state; seller B shares
 * A's first order. The expected figures follow the definitions in read-models/projections/seller-dashboard.ts.
 */
async function buildWorld() {
  const sellerA = await createSeller(db, { name: 'Alpha Goods' });
  const sellerB = await createSeller(db, { name: 'Beta Wares' });
  const customer = await createCustomer(db);
  const p1 = (await writeProduct(db, { sellerId: sellerA.id, ...productFields() })).product.productId;
  const p2 = (await writeProduct(db, { sellerId: sellerA.id, ...productFields() })).product.productId;
  const pb = (await writeProduct(db, { sellerId: sellerB.id, ...productFields() })).product.productId;

  // Delivered: A 600 + 400, B 500.
  const delivered = await placeOrder(customer.id, [
    { sellerId: sellerA.id, productId: p1, totalMinor: 600 },
    { sellerId: sellerA.id, productId: p2, totalMinor: 400 },
    { sellerId: sellerB.id, productId: pb, totalMinor: 500 },
  ]);
  await reserve(delivered);
  await pay(delivered);
  await shipAndDeliver(delivered);
  // Paid, awaiting shipment: A 2000 (pending).
  const paid = await placeOrder(customer.id, [{ sellerId: sellerA.id, productId: p1, totalMinor: 2_000 }]);
  await reserve(paid);
  await pay(paid);
  // Failed before payment: A 700.
  const failed = await placeOrder(customer.id, [{ sellerId: sellerA.id, productId: p1, totalMinor: 700 }]);
  await fail(failed);
  // Paid, refunded and cancelled: A 300.
  const refunded = await placeOrder(customer.id, [{ sellerId: sellerA.id, productId: p2, totalMinor: 300 }]);
  await reserve(refunded);
  await pay(refunded);
  await refundAndCancel(refunded);
  // Just placed: A 400 (pending).
  await placeOrder(customer.id, [{ sellerId: sellerA.id, productId: p2, totalMinor: 400 }]);

  await reviewProduct(db, p1, { customerId: customer.id, rating: 5, body: 'great' });
  await reviewProduct(db, p2, { customerId: customer.id, rating: 4, body: 'good' });
  await updateProduct(db, p2, { active: false });
  return { sellerA: sellerA.id, sellerB: sellerB.id, customer: customer.id, p1, p2, pb };
}

const expectedA = {
  seller_name: 'Alpha Goods',
  total_orders: 5,
  pending_orders: 2,
  paid_orders: 2,
  total_revenue_minor: '3000',
  monthly_revenue_minor: '3000',
  average_order_value_minor: '1500',
  total_products: 2,
  active_products: 1,
  review_count: 2,
  average_rating: '4.50',
};

const expectedB = {
  seller_name: 'Beta Wares',
  total_orders: 1,
  pending_orders: 0,
  paid_orders: 1,
  total_revenue_minor: '500',
  monthly_revenue_minor: '500',
  average_order_value_minor: '500',
  total_products: 1,
  active_products: 1,
  review_count: 0,
  average_rating: null,
};

/** Forgets everything the projection built, so it can be built again from the events. */
async function resetProjection(): Promise<void> {
  for (const table of ['seller_dashboard_view', 'seller_order_facts', 'seller_product_facts']) {
    await db.$executeRawUnsafe(`DELETE FROM read_models.${table}`);
  }
  await db.$executeRawUnsafe(`DELETE FROM read_models.projection_positions WHERE projection = 'seller_dashboard_view'`);
}

describe('seller_dashboard_view', () => {
  let world: Awaited<ReturnType<typeof buildWorld>>;

  beforeAll(async () => {
    world = await buildWorld();
  });

  beforeEach(async () => {
    await resetProjection();
  });

  it('shows every metric after placed, paid, refunded, failed and delivered orders and product changes', async () => {
    await project();

    expect(await viewRow(world.sellerA)).toMatchObject({
      ...expectedA,
      revenue_month: thisMonth(),
      rating_sum: '9',
      last_calculated_at: null,
    });
    expect(await viewRow(world.sellerB)).toMatchObject(expectedB);
  });

  it('builds the same rows applying the events one by one as in one batch', async () => {
    await project(1);
    const oneByOne = await viewRows();
    await resetProjection();
    await project(10_000);

    expect(await viewRows()).toEqual(oneByOne);
    expect(oneByOne.find((row) => row.seller_id === world.sellerA)).toMatchObject(expectedA);
  });

  it('rebuilds from the event store into fresh tables with the same rows', async () => {
    await project(1);
    const live = await viewRows();
    // Damaged live rows: the rebuild must compute every row from the events, not keep these.
    await db.$executeRawUnsafe(`UPDATE read_models.seller_dashboard_view SET total_orders = 99, review_count = 7`);

    // Batches of 3 events: the rows, computed once after the last batch, must see the facts of all of them.
    await rebuildProjection({ db, projection: sellerDashboardProjection, batchSize: 3 });

    expect(await viewRows()).toEqual(live);
    expect(live.map((row) => row.seller_id).sort()).toEqual([world.sellerA, world.sellerB].sort());
  });

  it('moves each metric as the events arrive', async () => {
    const sellerC = await createSeller(db, { name: 'Gamma' });
    const product = (await writeProduct(db, { sellerId: sellerC.id, ...productFields() })).product.productId;
    await project();
    expect(await viewRow(sellerC.id)).toMatchObject({ total_orders: 0, total_products: 1, active_products: 1 });

    const order = await placeOrder(world.customer, [{ sellerId: sellerC.id, productId: product, totalMinor: 1_234 }]);
    await project();
    expect(await viewRow(sellerC.id)).toMatchObject({ total_orders: 1, pending_orders: 1, total_revenue_minor: '0' });

    await reserve(order);
    await pay(order);
    await project();
    expect(await viewRow(sellerC.id)).toMatchObject({
      pending_orders: 1,
      paid_orders: 1,
      total_revenue_minor: '1234',
      monthly_revenue_minor: '1234',
      average_order_value_minor: '1234',
    });

    await shipAndDeliver(order);
    await reviewProduct(db, product, { customerId: world.customer, rating: 3, body: 'ok' });
    await updateProduct(db, product, { active: false });
    await project();
    expect(await viewRow(sellerC.id)).toMatchObject({
      pending_orders: 0,
      total_revenue_minor: '1234',
      active_products: 0,
      review_count: 1,
      average_rating: '3.00',
    });
  });

  it('counts a payment captured last month in the revenue but not in this month', async () => {
    const sellerD = await createSeller(db);
    const product = (await writeProduct(db, { sellerId: sellerD.id, ...productFields() })).product.productId;
    const old = await placeOrder(world.customer, [{ sellerId: sellerD.id, productId: product, totalMinor: 800 }]);
    await reserve(old);
    await pay(old);
    const lastMonth = `date_trunc('month', now()) - interval '3 days'`;
    await db.$executeRawUnsafe(
      `UPDATE domain_events SET occurred_at = ${lastMonth} WHERE aggregate_id = $1::uuid`,
      old,
    );
    await db.$executeRawUnsafe(`UPDATE payments SET created_at = ${lastMonth} WHERE order_id = $1::uuid`, old);
    const recent = await placeOrder(world.customer, [{ sellerId: sellerD.id, productId: product, totalMinor: 200 }]);
    await reserve(recent);
    await pay(recent);
    await project();

    expect(await viewRow(sellerD.id)).toMatchObject({
      total_revenue_minor: '1000',
      monthly_revenue_minor: '200',
      average_order_value_minor: '500',
    });
    // The recalculation, from the write model, agrees.
    const summary = await recalculateDashboards({ db });
    expect(summary.drifts.filter((d) => d.sellerId === sellerD.id)).toEqual([]);
  });
});

describe('the full recalculation', () => {
  let world: Awaited<ReturnType<typeof buildWorld>>;

  beforeAll(async () => {
    world = await buildWorld();
  });

  beforeEach(async () => {
    await resetProjection();
    await project();
    // Earlier tests' sellers and products are in this database too: start from a healed state.
    await recalculateDashboards({ db });
  });

  it('finds nothing to heal when the projection is right, and stamps every row', async () => {
    const before = await viewRows();
    const metrics = createWorkerMetrics();

    const summary = await recalculateDashboards({ db, metrics });

    expect(summary.drifted).toBe(0);
    expect(summary.drifts).toEqual([]);
    expect(summary.sellers).toBe(await db.seller.count());
    const after = await viewRows();
    expect(after.map(({ last_calculated_at: _, ...row }) => row)).toEqual(
      before.map(({ last_calculated_at: _, ...row }) => row),
    );
    expect(after.every((row) => row.last_calculated_at?.toISOString() === summary.calculatedAt)).toBe(true);
    expect((await metrics.dashboardDrift.get()).values[0]?.value ?? 0).toBe(0);
  });

  it('reports drift introduced in the view with the fields that differ, and heals it', async () => {
    await db.$executeRawUnsafe(
      `UPDATE read_models.seller_dashboard_view SET total_orders = 99, average_rating = 1.25
       WHERE seller_id = $1::uuid`,
      world.sellerA,
    );
    await db.$executeRawUnsafe(
      `DELETE FROM read_models.seller_dashboard_view WHERE seller_id = $1::uuid`,
      world.sellerB,
    );
    const metrics = createWorkerMetrics();
    const warnings: { message: string; attributes: Record<string, unknown> }[] = [];

    const summary = await recalculateDashboards({
      db,
      metrics,
      logger: { warn: (message, attributes) => warnings.push({ message, attributes }) },
    });

    const bySeller = new Map(summary.drifts.map((d) => [d.sellerId, d]));
    expect(summary.drifted).toBe(2);
    expect(bySeller.get(world.sellerA)).toEqual<SellerDrift>({
      sellerId: world.sellerA,
      missing: false,
      fields: { total_orders: { from: '99', to: '5' }, average_rating: { from: '1.25', to: '4.50' } },
    });
    expect(bySeller.get(world.sellerB)).toMatchObject({
      missing: true,
      fields: { total_orders: { from: null, to: '1' }, total_revenue_minor: { from: null, to: '500' } },
    });
    expect((await metrics.dashboardDrift.get()).values[0]?.value).toBe(2);
    expect(warnings.map((w) => w.attributes['sellerId']).sort()).toEqual([world.sellerA, world.sellerB].sort());

    expect(await viewRow(world.sellerA)).toMatchObject(expectedA);
    expect(await viewRow(world.sellerB)).toMatchObject(expectedB);
    expect((await recalculateDashboards({ db })).drifted).toBe(0);
  });

  it('heals drifted facts too, so the next event builds on the truth', async () => {
    // The projection lost a product's facts: the view is wrong from the next event on.
    await db.$executeRawUnsafe(`DELETE FROM read_models.seller_product_facts WHERE product_id = $1::uuid`, world.p1);
    const order = await placeOrder(world.customer, [{ sellerId: world.sellerA, productId: world.p1, totalMinor: 50 }]);
    await project();
    expect(await viewRow(world.sellerA)).toMatchObject({ total_orders: 6, total_products: 1 });

    const summary = await recalculateDashboards({ db });
    expect(summary.drifts.find((d) => d.sellerId === world.sellerA)?.fields).toEqual({
      total_products: { from: '1', to: '2' },
      active_products: { from: '0', to: '1' },
      review_count: { from: '1', to: '2' },
      average_rating: { from: '4.00', to: '4.50' },
    });

    await fail(order);
    await project();
    expect(await viewRow(world.sellerA)).toMatchObject({ ...expectedA, total_orders: 6 });
    expect((await recalculateDashboards({ db })).drifted).toBe(0);
  });

  it('writes a row for every seller, and picks up products written without events', async () => {
    const quiet = await createSeller(db, { name: 'Quiet' });
    const seeded = await createSeller(db, { name: 'Seeded' });
    await insertProductWithoutEvents(db, { sellerId: seeded.id });

    const summary = await recalculateDashboards({ db });

    // A new seller with nothing to show has not drifted; a product the events never told of has.
    expect(summary.drifts.find((d) => d.sellerId === quiet.id)).toBeUndefined();
    expect(summary.drifts.find((d) => d.sellerId === seeded.id)).toMatchObject({
      missing: true,
      fields: { total_products: { from: null, to: '1' } },
    });
    expect(await viewRow(quiet.id)).toMatchObject({ seller_name: 'Quiet', total_orders: 0, average_rating: null });
    expect(await viewRow(seeded.id)).toMatchObject({ total_products: 1, active_products: 1 });

    // The facts the recalculation wrote carry version 0; the product's first event still applies.
    const [product] = await db.product.findMany({ where: { sellerId: seeded.id } });
    await updateProduct(db, product!.id, { active: false });
    await project();
    expect(await viewRow(seeded.id)).toMatchObject({ total_products: 1, active_products: 0 });
  });
});

describe('GET /v1/sellers/{sellerId}/dashboard', () => {
  let world: Awaited<ReturnType<typeof buildWorld>>;

  beforeAll(async () => {
    world = await buildWorld();
    await project();
  });

  it('answers the seller dashboard with an ETag', async () => {
    const res = await request(app).get(`/v1/sellers/${world.sellerA}/dashboard`).expect(200);

    expect(res.headers['etag']).toMatch(/^"/);
    expect(res.body).toMatchObject({
      sellerId: world.sellerA,
      sellerName: 'Alpha Goods',
      orders: { total: 5, pending: 2, paid: 2 },
      revenue: { totalMinor: '3000', monthlyMinor: '3000', averageOrderValueMinor: '1500' },
      products: { total: 2, active: 1 },
      reviews: { count: 2, averageRating: '4.50' },
    });
    expect(res.body.revenue.month).toBe(new Date().toISOString().slice(0, 7));
    expect(Date.parse(res.body.updatedAt)).not.toBeNaN();

    await request(app)
      .get(`/v1/sellers/${world.sellerA}/dashboard`)
      .set('If-None-Match', res.headers['etag'] as string)
      .expect(304);
  });

  it('shows a new event and the recalculation time once they are committed (cache invalidated)', async () => {
    const first = await request(app).get(`/v1/sellers/${world.sellerB}/dashboard`).expect(200);
    expect(first.body.lastCalculatedAt).toBeNull();

    await placeOrder(world.customer, [{ sellerId: world.sellerB, productId: world.pb, totalMinor: 10 }]);
    await project();
    const second = await request(app).get(`/v1/sellers/${world.sellerB}/dashboard`).expect(200);
    expect(second.body.orders.total).toBe(first.body.orders.total + 1);

    const summary = await recalculateDashboards({ db, cache });
    const third = await request(app).get(`/v1/sellers/${world.sellerB}/dashboard`).expect(200);
    expect(third.body.lastCalculatedAt).toBe(summary.calculatedAt);
  });

  it('shows no revenue this month when the stored figure is of an earlier month', async () => {
    await db.$executeRawUnsafe(
      `UPDATE read_models.seller_dashboard_view SET revenue_month = revenue_month - interval '1 month'
       WHERE seller_id = $1::uuid`,
      world.sellerA,
    );
    await cache.invalidate([`seller:${world.sellerA}`]);

    const res = await request(app).get(`/v1/sellers/${world.sellerA}/dashboard`).expect(200);
    expect(res.body.revenue).toMatchObject({ totalMinor: '3000', monthlyMinor: '0' });
  });

  it('is a 404 problem for a seller without a dashboard', async () => {
    const unknown = randomUUID();
    const res = await request(app).get(`/v1/sellers/${unknown}/dashboard`).expect(404);

    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 404, detail: expect.stringContaining(unknown) });
  });

  it.each(['not-a-uuid', '123', `${randomUUID()}x`])('is a 400 problem naming path.sellerId for %s', async (id) => {
    const rowsBefore = await viewRows();
    const res = await request(app)
      .get(`/v1/sellers/${encodeURIComponent(id)}/dashboard`)
      .expect(400);

    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.errors).toEqual([{ field: 'path.sellerId', message: 'must be a UUID' }]);
    expect(await viewRows()).toEqual(rowsBefore);
  });
});
