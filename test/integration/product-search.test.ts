import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler } from 'express';
import pino from 'pino';
import request from 'supertest';
import { HttpProblem, sendProblem } from '../../api/http/problem';
import { productSearchRoutes } from '../../api/catalogue/product-search-routes';
import { ORDER_AGGREGATE, orderEvent, type OrderEvent, type OrderEventPayloads } from '../../domain/order-events';
import { createReadCache, type ReadCache } from '../../read-models/cache';
import { loadConfig } from '../../platform/config';
import { type Database, type Tx, createDatabase } from '../../platform/database';
import { appendEvents, currentVersion } from '../../events/event-store';
import { createProduct, reviewProduct, updateProduct } from '../../catalogue/product-store';
import { searchProducts, type SearchResult } from '../../read-models/product-search/search';
import { searchQuerySchema } from '../../read-models/product-search/params';
import { formatPosition } from '../../read-models/projections/projection';
import { productSearchProjection } from '../../read-models/projections/product-search';
import { rebuildProjection } from '../../read-models/projections/rebuild';
import { catchUp } from '../../read-models/projections/runner';
import { createCustomer, createSeller } from '../support/catalogue';
import { createOrderRow } from '../support/order-history';
import { connectRedis, createOutboxDatabase, redisUrlOn, type OutboxDatabase } from '../support/outbox';

/**
 * The product search read model end to end: products created, changed and reviewed through the
 * product store, orders reserving and shipping them through their events, the projection caught
 * up from the event store, and searches through the query function and the HTTP route.
 */

const REDIS_DB = 14;
const silent = pino({ level: 'silent' });

let database: OutboxDatabase;
let db: Database;
const ids: Record<string, string> = {};
let nordic: string;
let keyclick: string;

async function project(cache?: ReadCache): Promise<number> {
  return (await catchUp({ db, projection: productSearchProjection, ...(cache ? { cache } : {}) })).applied;
}

function search(query: Record<string, string> = {}): Promise<SearchResult> {
  return searchProducts(db, searchQuerySchema.parse(query));
}

const names = (result: SearchResult) => result.hits.map((h) => h.name);

async function product(
  key: string,
  sellerId: string,
  fields: {
    name: string;
    description: string;
    categoryPath: string;
    priceMinor: number;
    stock: number;
    active?: boolean;
  },
): Promise<void> {
  const { product: created } = await createProduct(db, {
    sellerId,
    sku: `SKU-${key}`,
    currency: 'EUR',
    active: true,
    ...fields,
  });
  ids[key] = created.productId;
}

/** Appends an order's events with the write-model change they describe, in one transaction. */
async function orderStep(orderId: string, events: OrderEvent[], change: (tx: Tx) => Promise<unknown>): Promise<void> {
  await db.$transaction(async (tx) => {
    await change(tx);
    await appendEvents(tx, {
      aggregateType: ORDER_AGGREGATE,
      aggregateId: orderId,
      expectedVersion: await currentVersion(tx, orderId),
      events,
      correlation: { causationKey: randomUUID() },
    });
  });
}

/** An order of `quantity` of one product, placed and reserved; returns what ships and cancels it. */
async function reservedOrder(customerId: string, productKey: string, sellerId: string, quantity: number) {
  const orderId = randomUUID();
  const productId = ids[productKey]!;
  const line = {
    lineNo: 1,
    productId,
    sellerId,
    name: productKey,
    quantity,
    unitPriceMinor: 2500,
    lineTotalMinor: 2500 * quantity,
    commissionRateBps: 1000,
    commissionMinor: 250 * quantity,
  };
  const totals = {
    itemCount: quantity,
    subtotalMinor: 2500 * quantity,
    commissionMinor: 250 * quantity,
    totalMinor: 2500 * quantity,
  };
  const address = { recipient: 'Ada', line1: '1 Road', city: 'London', postalCode: 'N1', country: 'GB' };
  const setStatus = (tx: Tx, status: string) => tx.order.update({ where: { id: orderId }, data: { status } });
  const stock = (tx: Tx, onHand: number, reserved: number) =>
    tx.inventory.update({
      where: { productId },
      data: { onHand: { increment: onHand }, reserved: { increment: reserved } },
    });

  const placed: OrderEventPayloads['OrderPlaced'] = {
    customerId,
    workflowId: `order-${orderId}`,
    currency: 'EUR',
    lines: [line],
    totals,
    shippingAddress: address,
  };
  await orderStep(orderId, [orderEvent('OrderPlaced', placed)], (tx) => createOrderRow(tx, orderId, placed));
  await orderStep(orderId, [orderEvent('InventoryReserved', { lines: [{ productId, quantity }] })], async (tx) => {
    await stock(tx, 0, quantity);
    await setStatus(tx, 'INVENTORY_RESERVED');
  });
  const shipmentId = randomUUID();
  return {
    ship: () =>
      orderStep(
        orderId,
        [
          orderEvent('ShipmentsCreated', {
            shipments: [{ shipmentId, sellerId, trackingNumber: 'T1', carrier: 'sim' }],
          }),
        ],
        async (tx) => {
          await stock(tx, -quantity, -quantity);
          await setStatus(tx, 'PAID');
          await setStatus(tx, 'SHIPPED');
        },
      ),
    cancelShipment: () =>
      orderStep(orderId, [orderEvent('ShipmentsCancelled', { shipmentIds: [shipmentId] })], (tx) =>
        stock(tx, quantity, quantity),
      ),
    release: () =>
      orderStep(orderId, [orderEvent('InventoryReleased', { lines: [{ productId, quantity }] })], (tx) =>
        stock(tx, 0, -quantity),
      ),
  };
}

async function viewRows(): Promise<unknown[]> {
  return db.$queryRawUnsafe(
    `SELECT product_id::text, seller_name, name, price_range, rating_sum, review_count, average_rating::float8 AS average_rating,
       rating_bucket, sales_count, available, in_stock, active, updated_at
     FROM read_models.product_search_view ORDER BY product_id`,
  );
}

/** Browsing (counted from the projection's summary counts) and searching (counted over the rows). */
const facetQueries: Record<string, string>[] = [
  {},
  { category: 'home' },
  { q: 'chair' },
  { category: 'electronics', inStock: 'true' },
];

/** The facets of a search equal the counts of its hits (all on one page), grouped here by hand. */
async function expectFacetsOfHits(query: Record<string, string>): Promise<void> {
  const result = await search({ ...query, limit: '100' });
  const count = (key: (h: SearchResult['hits'][number]) => string) => {
    const counts = new Map<string, number>();
    for (const hit of result.hits) counts.set(key(hit), (counts.get(key(hit)) ?? 0) + 1);
    return counts;
  };
  const nonZero = (facet: { value: string; count: number }[]) =>
    new Map(facet.filter((f) => f.count > 0).map((f) => [f.value, f.count]));
  expect(result.total).toBe(result.hits.length);
  // A small catalogue is counted in full: the total and the facets say they are exact.
  expect(result).toMatchObject({ totalRelation: 'eq', facetsExhaustive: true });
  expect(nonZero(result.facets.category)).toEqual(count((h) => h.categoryPath));
  expect(nonZero(result.facets.priceRange)).toEqual(count((h) => h.priceRange));
  expect(nonZero(result.facets.rating)).toEqual(count((h) => h.ratingBucket));
  expect(nonZero(result.facets.seller)).toEqual(count((h) => h.sellerId));
  expect(nonZero(result.facets.inStock)).toEqual(count((h) => String(h.inStock)));
}

beforeAll(async () => {
  database = await createOutboxDatabase('search');
  db = createDatabase({ database: { url: database.url, poolSize: 4 } });
  nordic = (await createSeller(db, { name: 'Nordic Woodworks' })).id;
  keyclick = (await createSeller(db, { name: 'Keyclick Electronics' })).id;
  const chairText = 'Solid oak, hand finished.';
  await product('oakChair', nordic, {
    name: 'Oak Dining Chair',
    description: chairText,
    categoryPath: 'home/furniture',
    priceMinor: 8_900,
    stock: 5,
  });
  await product('officeChair', nordic, {
    name: 'Ergonomic Office Chair',
    description: 'Mesh back and lumbar support.',
    categoryPath: 'home/furniture',
    priceMinor: 24_900,
    stock: 0,
  });
  await product('lamp', nordic, {
    name: 'Reading Lamp',
    description: 'Warm light beside your favourite chair.',
    categoryPath: 'home/lighting',
    priceMinor: 3_900,
    stock: 10,
  });
  await product('keyboard', keyclick, {
    name: 'Mechanical Keyboard',
    description: 'Tactile switches, aluminium frame.',
    categoryPath: 'electronics/laptops',
    priceMinor: 12_900,
    stock: 3,
  });
  await product('mouse', keyclick, {
    name: 'Wireless Mouse',
    description: 'Quiet buttons for the office.',
    categoryPath: 'electronics/laptops',
    priceMinor: 2_500,
    stock: 2,
  });
  await product('headphones', keyclick, {
    name: 'Bluetooth Headphones',
    description: 'Noise cancelling.',
    categoryPath: 'electronics/audio',
    priceMinor: 5_900,
    stock: 7,
  });
  await product('hidden', nordic, {
    name: 'Hidden Chair',
    description: 'Not for sale.',
    categoryPath: 'home/furniture',
    priceMinor: 1_000,
    stock: 1,
    active: false,
  });
  await product('markup', keyclick, {
    name: '<b>Bold</b> & "Quoted" Chair',
    description: 'A chair with <script>alert(1)</script> in it.',
    categoryPath: 'fashion/accessories',
    priceMinor: 900,
    stock: 4,
  });
  await project();
});

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe('full text', () => {
  it('finds products by name, category, seller and description, and ranks name matches first', async () => {
    const result = await search({ q: 'chair' });
    expect(names(result)).toHaveLength(4);
    // The lamp mentions a chair in its description only: below every product named a chair.
    expect(names(result).at(-1)).toBe('Reading Lamp');
    expect(names(result)).not.toContain('Hidden Chair');
    expect(names(await search({ q: 'lighting' }))).toEqual(['Reading Lamp']);
    expect(names(await search({ q: 'keyclick mouse' }))).toEqual(['Wireless Mouse']);
    expect(names(await search({ q: 'chairs' }))).toHaveLength(4);
  });

  it('tolerates typos: "chiar" finds chairs, "keybord" the keyboard, and says what it searched', async () => {
    const chiar = await search({ q: 'chiar' });
    expect(names(chiar)).toHaveLength(4);
    expect(chiar.correctedQuery).toBe('chair');
    expect(chiar.corrections).toEqual([{ from: 'chiar', to: 'chair' }]);

    const keybord = await search({ q: 'mechanical keybord' });
    expect(names(keybord)).toEqual(['Mechanical Keyboard']);
    expect(keybord.correctedQuery).toBe('mechanical keyboard');

    const plain = await search({ q: 'chair' });
    expect(plain.correctedQuery).toBeNull();
    expect(names(await search({ q: 'xylophone' }))).toEqual([]);
  });

  it('highlights matches in HTML-escaped snippets of the page', async () => {
    const [hit] = (await search({ q: 'bold chair', category: 'fashion' })).hits;
    expect(hit!.highlight!.name).toBe(
      '&lt;b&gt;<mark>Bold</mark>&lt;/b&gt; &amp; &quot;Quoted&quot; <mark>Chair</mark>',
    );
    expect(hit!.highlight!.description).toContain('<mark>chair</mark>');
    expect(hit!.highlight!.description).toContain('&lt;script&gt;');
    expect(hit!.highlight!.description).not.toContain('<script>');
    expect((await search({ category: 'fashion' })).hits[0]!.highlight).toBeNull();
  });
});

describe('filters', () => {
  it('filters by category prefix, seller, price range, stock and rating', async () => {
    expect(names(await search({ category: 'home' })).sort()).toEqual([
      'Ergonomic Office Chair',
      'Oak Dining Chair',
      'Reading Lamp',
    ]);
    expect(names(await search({ category: 'home/furniture' })).sort()).toEqual([
      'Ergonomic Office Chair',
      'Oak Dining Chair',
    ]);
    // A prefix of a path segment is not a category.
    expect(names(await search({ category: 'hom' }))).toEqual([]);
    expect(names(await search({ seller: keyclick, q: 'chair' }))).toEqual(['<b>Bold</b> & "Quoted" Chair']);
    expect(names(await search({ priceRange: 'under-10,100-250' })).sort()).toEqual([
      '<b>Bold</b> & "Quoted" Chair',
      'Ergonomic Office Chair',
      'Mechanical Keyboard',
    ]);
    expect(names(await search({ inStock: 'false' }))).toEqual(['Ergonomic Office Chair']);
    expect(names(await search({ minRating: '1' }))).toEqual([]);
  });

  it('counts facets over the filtered set, as the hits themselves add up', async () => {
    for (const query of facetQueries) await expectFacetsOfHits(query);
    const all = await search();
    expect(all.facets.seller).toEqual(
      [
        { value: nordic, name: 'Nordic Woodworks', count: 3 },
        { value: keyclick, name: 'Keyclick Electronics', count: 4 },
      ].sort((a, b) => b.count - a.count),
    );
  });
});

describe('what orders and reviews change', () => {
  it('takes a product out of stock when an order reserves the last units, and puts it back on release', async () => {
    const customer = await createCustomer(db);
    const order = await reservedOrder(customer.id, 'mouse', keyclick, 2);
    await project();
    expect((await search({ q: 'mouse' })).hits[0]).toMatchObject({ inStock: false, salesCount: 0 });

    await order.ship();
    await project();
    expect((await search({ q: 'mouse' })).hits[0]).toMatchObject({ inStock: false, salesCount: 2 });

    await order.cancelShipment();
    await order.release();
    await project();
    expect((await search({ q: 'mouse' })).hits[0]).toMatchObject({ inStock: true, salesCount: 0 });
  });

  it('averages the reviews of buyers into the rating, its bucket and the minRating filter', async () => {
    for (const rating of [5, 4, 4]) {
      const customer = await createCustomer(db);
      await (await reservedOrder(customer.id, 'keyboard', keyclick, 1)).ship();
      await reviewProduct(db, ids['keyboard']!, { customerId: customer.id, rating, body: 'ok' });
    }
    await project();
    const [keyboard] = (await search({ q: 'keyboard' })).hits;
    expect(keyboard).toMatchObject({
      averageRating: 4.33,
      reviewCount: 3,
      ratingBucket: '4-5',
      salesCount: 3,
      inStock: false,
    });
    expect(names(await search({ minRating: '4.3' }))).toEqual(['Mechanical Keyboard']);
    expect(names(await search({ minRating: '4.5' }))).toEqual([]);
  });

  it('follows a product update: price, name and deactivation', async () => {
    await updateProduct(db, ids['headphones']!, { priceMinor: 30_000, name: 'Studio Headphones' });
    await project();
    expect((await search({ q: 'studio' })).hits[0]).toMatchObject({
      priceRange: '250-plus',
      price: { minor: 30_000, formatted: '300.00 EUR' },
    });
    await updateProduct(db, ids['headphones']!, { active: false });
    await project();
    expect(names(await search({ q: 'studio' }))).toEqual([]);
    await updateProduct(db, ids['headphones']!, { active: true });
    await project();
    expect(names(await search({ q: 'studio' }))).toEqual(['Studio Headphones']);
  });
});

describe('sorting and paging', () => {
  const sorts = ['relevance', 'price_asc', 'price_desc', 'rating', 'best_selling'] as const;

  it.each(sorts)('pages through %s with the cursor: no duplicates, no gaps, in order', async (sort) => {
    const base: Record<string, string> = sort === 'relevance' ? { q: 'chair or lamp or keyboard or mouse' } : {};
    const all = await search({ ...base, sort, limit: '100' });
    expect(all.hits.length).toBeGreaterThan(3);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: SearchResult = await search({ ...base, sort, limit: '2', ...(cursor ? { cursor } : {}) });
      paged.push(...page.hits.map((h) => h.productId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all.hits.map((h) => h.productId));

    const key = {
      relevance: () => 0,
      price_asc: (h: SearchResult['hits'][number]) => h.price.minor,
      price_desc: (h: SearchResult['hits'][number]) => -h.price.minor,
      rating: (h: SearchResult['hits'][number]) => -(h.averageRating ?? 0),
      best_selling: (h: SearchResult['hits'][number]) => -h.salesCount,
    }[sort];
    const keys = all.hits.map(key);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
  });
});

describe('the projection', () => {
  it('keeps its facet counts right through orders, reviews, updates and deactivations', async () => {
    for (const query of facetQueries) await expectFacetsOfHits(query);
  });

  it('applies nothing twice, and a rebuild applying every event again in small batches gives the same rows', async () => {
    const before = await viewRows();
    expect(await project()).toBe(0);
    await rebuildProjection({ db, projection: productSearchProjection, batchSize: 3 });
    expect(await viewRows()).toEqual(before);
    expect(names(await search({ q: 'chiar' }))).toHaveLength(4);
    for (const query of facetQueries) await expectFacetsOfHits(query);
  });
});

describe('GET /v1/products/search', () => {
  const config = loadConfig({ ...process.env, READ_YOUR_WRITES_WAIT_MS: '5000' });
  const problemHandler: ErrorRequestHandler = (error, _req, res, next) => {
    if (error instanceof HttpProblem) sendProblem(res, error);
    else next(error);
  };

  it('answers 400 problem+json naming each bad parameter', async () => {
    const app = express().use(productSearchRoutes({ db, config })).use(problemHandler);
    const response = await request(app).get(
      '/v1/products/search?sort=cheapest&limit=0&minRating=6&seller=acme&priceRange=cheap&colour=red&cursor=zzz',
    );
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect((response.body as { errors: { field: string }[] }).errors.map((e) => e.field).sort()).toEqual([
      'query.colour',
      'query.limit',
      'query.minRating',
      'query.priceRange',
      'query.seller',
      'query.sort',
    ]);
    const cursor = await request(app).get('/v1/products/search?q=chair&cursor=eyJub3QiOiJpdCJ9');
    expect(cursor.status).toBe(400);
    expect((cursor.body as { errors: { field: string }[] }).errors).toEqual([
      expect.objectContaining({ field: 'query.cursor' }),
    ]);
    const limit = await request(app).get('/v1/products/search?limit=101');
    expect((limit.body as { errors: { field: string }[] }).errors).toEqual([
      expect.objectContaining({ field: 'query.limit' }),
    ]);
  });

  it('reads through the cache, revalidates with ETags, and shows a change once the projection commits it', async () => {
    const redis = connectRedis(redisUrlOn(REDIS_DB));
    try {
      await redis.flushdb();
      const ttlMs = { order: 60_000, orderList: 60_000, search: 60_000, dashboard: 60_000 };
      const cache = createReadCache({ redis, ttlMs, logger: silent });
      const app = express().use(productSearchRoutes({ db, cache, config })).use(problemHandler);
      const first = await request(app).get('/v1/products/search?q=lamp');
      expect(first.status).toBe(200);
      expect((first.body as SearchResult).hits[0]).toMatchObject({ name: 'Reading Lamp', price: { minor: 3_900 } });
      const etag = first.headers['etag'] as string;
      expect((await request(app).get('/v1/products/search?q=lamp').set('If-None-Match', etag)).status).toBe(304);

      await updateProduct(db, ids['lamp']!, { priceMinor: 4_500 });
      await project(cache);
      const after = await request(app).get('/v1/products/search?q=lamp').set('If-None-Match', etag);
      expect(after.status).toBe(200);
      expect((after.body as SearchResult).hits[0]).toMatchObject({ price: { minor: 4_500 } });

      // Read-your-writes: the seller's next search names the write's position and waits for it.
      const { position } = await updateProduct(db, ids['lamp']!, { priceMinor: 4_700 });
      const search = request(app)
        .get('/v1/products/search?q=lamp')
        .set('Shopflow-Min-Position', formatPosition(position))
        .then((r) => r);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await project(cache);
      const mine = await search;
      expect(mine.headers['shopflow-consistency']).toBe('reached');
      expect((mine.body as SearchResult).hits[0]).toMatchObject({ price: { minor: 4_700 } });
      // A position the projection never reaches in time: the answer says it may be stale.
      const short = express()
        .use(
          productSearchRoutes({
            db,
            cache,
            config: { ...config, projections: { ...config.projections, readYourWritesWaitMs: 50 } },
          }),
        )
        .use(problemHandler);
      const ahead = await request(short)
        .get('/v1/products/search?q=lamp')
        .set('Shopflow-Min-Position', formatPosition({ ...position, version: position.version + 1 }));
      expect(ahead.status).toBe(200);
      expect(ahead.headers['shopflow-consistency']).toBe('stale');
    } finally {
      await redis.flushdb();
      redis.disconnect();
    }
  });
});
