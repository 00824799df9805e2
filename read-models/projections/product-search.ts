import { ORDER_AGGREGATE, type OrderEventLine, type OrderEventPayloads } from '../../domain/order-events';
import {
  applyProductEvent,
  isProductEventType,
  PRODUCT_AGGREGATE,
  type ProductEvent,
  type ProductState,
} from '../../domain/product-events';
import { averageRating, priceRangeOf, ratingBucketOf } from '../product-search/buckets';
import { cacheTags, type ProjectedEvent, type Projection, type ProjectionContext } from './projection';
import { latestVersions } from './event-feed';

/**
 * `product_search_view`: what the product search reads (read-models/product-search/search.ts), one row per
 * product, and `product_search_words`, the vocabulary its spelling correction uses.
 *
 * - Product events are folded per product in memory with the domain's own reducer, starting from
 *   the row as stored, and written back with one bulk upsert per batch: a rebuild's batch of
 *   thousands of events costs a handful of statements.
 * - Sales: a ShipmentsCreated adds the units of the shipped sellers' lines (read from the order's
 *   OrderPlaced event), a ShipmentsCancelled takes the cancelled sellers' units off again. Each
 *   event is applied once (the runner's positions), so adding and subtracting is exact.
 * - Stock is not added up from events: product and order streams are consumed independently, so
 *   their events interleave differently here than they did in the write model. On any event that
 *   changes stock, `available` is re-read from `inventory` (on_hand - reserved), which always
 *   converges to the truth.
 * - The seller's name is looked up in `sellers` when the product's row is written.
 * - Facet counts (catalogue-wide, per seller and category, and per lexeme of the search vector)
 *   follow every change: the changed products are taken out of them before it and put back after
 *   (countFacets); a stock move recounts only the products crossing zero.
 *
 * Cache tags: every search entry carries the projection's tag (facets depend on every product),
 * so a change anything a search shows invalidates it; a change that shows nowhere (stock moving
 * without crossing zero, since hits only say in stock or not) invalidates nothing.
 */

export const PRODUCT_SEARCH_VIEW = 'product_search_view';
export const PRODUCT_SEARCH_WORDS = 'product_search_words';
export const PRODUCT_SEARCH_FACET_COUNTS = 'product_search_facet_counts';
export const PRODUCT_SEARCH_SELLER_COUNTS = 'product_search_seller_counts';
export const PRODUCT_SEARCH_TERM_FACETS = 'product_search_term_facets';

/** A row as the projection reads and writes it (the generated columns are PostgreSQL's). */
interface SearchRow {
  product_id: string;
  seller_id: string;
  sku: string;
  name: string;
  description: string;
  category_path: string;
  price_minor: number;
  currency: string;
  price_range: string;
  rating_sum: number;
  review_count: number;
  average_rating: number | null;
  rating_bucket: string;
  active: boolean;
  /** Units on hand as the events tell it: only used when the product has no inventory row. */
  stock: number;
  updated_at: string;
}

export const productSearchProjection: Projection = {
  name: PRODUCT_SEARCH_VIEW,
  aggregateTypes: [PRODUCT_AGGREGATE, ORDER_AGGREGATE],
  tables: [
    PRODUCT_SEARCH_VIEW,
    PRODUCT_SEARCH_WORDS,
    PRODUCT_SEARCH_FACET_COUNTS,
    PRODUCT_SEARCH_SELLER_COUNTS,
    PRODUCT_SEARCH_TERM_FACETS,
  ],

  async apply(events, ctx) {
    // Products first: an order event of this batch may concern a product created in it.
    const productTags = await applyProductEvents(
      events.filter((e) => e.aggregateType === PRODUCT_AGGREGATE && isProductEventType(e.type)),
      ctx,
    );
    const orderTags = await applyOrderEvents(
      events.filter((e) => e.aggregateType === ORDER_AGGREGATE),
      ctx,
    );
    const tags = [...productTags, ...orderTags];
    if (tags.length === 0) return [];
    // A rebuild invalidates everything at its swap; it needs no per-product tags.
    if (ctx.rebuilding) return [cacheTags.projection(PRODUCT_SEARCH_VIEW)];
    return [...new Set([cacheTags.projection(PRODUCT_SEARCH_VIEW), ...tags])];
  },
  // Facet counts are moved by -1/+1 around each change, read then written (see Projection.serialized).
  serialized: true,
};

async function applyProductEvents(events: readonly ProjectedEvent[], ctx: ProjectionContext): Promise<string[]> {
  if (events.length === 0) return [];
  const byProduct = new Map<string, ProjectedEvent[]>();
  for (const event of events) byProduct.set(event.aggregateId, [...(byProduct.get(event.aggregateId) ?? []), event]);

  const stored = await loadRows(ctx, [...byProduct.keys()]);
  const rows: SearchRow[] = [];
  const textChanged: string[] = [];
  for (const [productId, productEvents] of byProduct) {
    const folded = foldProduct(stored.get(productId), productEvents);
    if (!folded) continue; // No ProductCreated yet: nothing to show (cannot happen past the runner).
    rows.push(searchRow(productId, folded, productEvents[productEvents.length - 1]!.occurredAt));
    if (productEvents.some(changesText)) textChanged.push(productId);
  }
  if (rows.length === 0) return [];

  const view = ctx.table(PRODUCT_SEARCH_VIEW);
  const productIds = rows.map((row) => row.product_id);
  await countFacets(ctx, productIds, -1);
  await ctx.tx.$executeRawUnsafe(
    `INSERT INTO ${view} AS v (product_id, seller_id, seller_name, sku, name, description, category_path, price_minor,
       currency, price_range, rating_sum, review_count, average_rating, rating_bucket, sales_count, available, active, updated_at)
     SELECT x.product_id, x.seller_id, COALESCE(s.name, ''), x.sku, x.name, x.description, x.category_path, x.price_minor,
       x.currency, x.price_range, x.rating_sum, x.review_count, x.average_rating, x.rating_bucket, 0,
       COALESCE(i.on_hand - i.reserved, x.stock), x.active, x.updated_at
     FROM jsonb_to_recordset($1::jsonb) AS x(product_id uuid, seller_id uuid, sku text, name text, description text,
       category_path text, price_minor bigint, currency text, price_range text, rating_sum int, review_count int,
       average_rating numeric, rating_bucket text, active boolean, stock int, updated_at timestamptz)
     LEFT JOIN sellers s ON s.id = x.seller_id
     LEFT JOIN inventory i ON i.product_id = x.product_id
     ON CONFLICT (product_id) DO UPDATE SET
       seller_id = EXCLUDED.seller_id, seller_name = EXCLUDED.seller_name, sku = EXCLUDED.sku, name = EXCLUDED.name,
       description = EXCLUDED.description, category_path = EXCLUDED.category_path, price_minor = EXCLUDED.price_minor,
       currency = EXCLUDED.currency, price_range = EXCLUDED.price_range, rating_sum = EXCLUDED.rating_sum,
       review_count = EXCLUDED.review_count, average_rating = EXCLUDED.average_rating,
       rating_bucket = EXCLUDED.rating_bucket, available = EXCLUDED.available, active = EXCLUDED.active,
       updated_at = GREATEST(v.updated_at, EXCLUDED.updated_at)`,
    JSON.stringify(rows),
  );
  await countFacets(ctx, productIds, 1);
  if (textChanged.length > 0) await addWords(ctx, textChanged);
  return rows.map((row) => cacheTags.product(row.product_id));
}

/** The stored rows as the domain's product state (reviews as sum and count, stock as available). */
async function loadRows(ctx: ProjectionContext, productIds: string[]): Promise<Map<string, ProductState>> {
  const rows = await ctx.tx.$queryRawUnsafe<(ProductState & { productId: string })[]>(
    `SELECT product_id::text AS "productId", seller_id::text AS "sellerId", sku, name, description,
       category_path AS "categoryPath", price_minor::float8 AS "priceMinor", currency, available AS stock, active,
       review_count AS "reviewCount", rating_sum AS "ratingSum"
     FROM ${ctx.table(PRODUCT_SEARCH_VIEW)} WHERE product_id = ANY($1::uuid[])`,
    productIds,
  );
  return new Map(rows.map(({ productId, ...state }) => [productId, state]));
}

function foldProduct(start: ProductState | undefined, events: readonly ProjectedEvent[]): ProductState | undefined {
  let state = start;
  for (const event of events) {
    // A ProductCreated for a row that exists was applied before (a view written by an older run): start over.
    if (event.type === 'ProductCreated') state = undefined;
    if (!state && event.type !== 'ProductCreated') continue;
    state = applyProductEvent(state, { type: event.type, payload: event.payload } as ProductEvent);
  }
  return state;
}

function searchRow(productId: string, state: ProductState, occurredAt: Date): SearchRow {
  const average = averageRating(state.ratingSum, state.reviewCount);
  return {
    product_id: productId,
    seller_id: state.sellerId,
    sku: state.sku,
    name: state.name,
    description: state.description,
    category_path: state.categoryPath,
    price_minor: state.priceMinor,
    currency: state.currency,
    price_range: priceRangeOf(state.priceMinor, state.currency),
    rating_sum: state.ratingSum,
    review_count: state.reviewCount,
    average_rating: average,
    rating_bucket: ratingBucketOf(average),
    active: state.active,
    stock: state.stock,
    updated_at: occurredAt.toISOString(),
  };
}

function changesText(event: ProjectedEvent): boolean {
  if (event.type === 'ProductCreated') return true;
  if (event.type !== 'ProductUpdated') return false;
  const { changes } = event.payload as { changes: Record<string, unknown> };
  return ['name', 'description', 'categoryPath'].some((field) => changes[field] !== undefined);
}

/**
 * Adds the products' words to the vocabulary: lower-cased words of three letters or more (the
 * 'simple' configuration does not stem, so corrections are real words), each with its english
 * stem; stop words have none and are left out.
 */
async function addWords(ctx: ProjectionContext, productIds: string[]): Promise<void> {
  await ctx.tx.$executeRawUnsafe(
    `INSERT INTO ${ctx.table(PRODUCT_SEARCH_WORDS)} AS w (word, lexeme, occurrences)
     SELECT t.word, (tsvector_to_array(to_tsvector('english', t.word)))[1], count(*)
     FROM (
       SELECT DISTINCT v.product_id, word
       FROM ${ctx.table(PRODUCT_SEARCH_VIEW)} v,
         unnest(tsvector_to_array(to_tsvector('simple',
           v.name || ' ' || v.description || ' ' || replace(v.category_path, '/', ' ') || ' ' || v.seller_name))) AS word
       WHERE v.product_id = ANY($1::uuid[])
     ) t
     WHERE t.word ~ '^[[:alpha:]]{3,100}$' AND (tsvector_to_array(to_tsvector('english', t.word)))[1] IS NOT NULL
     GROUP BY t.word
     ON CONFLICT (word) DO UPDATE SET occurrences = w.occurrences + EXCLUDED.occurrences`,
    productIds,
  );
}

type OrderPayload<T extends keyof OrderEventPayloads> = OrderEventPayloads[T];

/** Order events: sales counts on shipment events, and stock wherever an order moved it. */
async function applyOrderEvents(events: readonly ProjectedEvent[], ctx: ProjectionContext): Promise<string[]> {
  const shipmentEvents = events.filter((e) => e.type === 'ShipmentsCreated' || e.type === 'ShipmentsCancelled');
  const stockProducts = new Set<string>();
  for (const event of events) {
    if (event.type === 'InventoryReserved' || event.type === 'InventoryReleased') {
      for (const line of (event.payload as OrderPayload<'InventoryReserved'>).lines) stockProducts.add(line.productId);
    }
  }
  const salesDelta = await salesDeltas(ctx, shipmentEvents);
  for (const productId of salesDelta.keys()) stockProducts.add(productId);

  return [...(await addSales(ctx, salesDelta)), ...(await refreshStock(ctx, [...stockProducts]))];
}

/**
 * Units sold per product from this batch's shipment events. The lines come from each order's
 * OrderPlaced (its version 1), and a cancellation's shipments are matched to their sellers through
 * the order's ShipmentsCreated events: one query for every order of the batch.
 */
async function salesDeltas(ctx: ProjectionContext, events: readonly ProjectedEvent[]): Promise<Map<string, number>> {
  const deltas = new Map<string, number>();
  if (events.length === 0) return deltas;
  const history = await orderHistory(ctx, events);
  const lines = new Map<string, OrderEventLine[]>();
  const shipmentSeller = new Map<string, string>();
  for (const row of history) {
    if (row.event_type === 'OrderPlaced') lines.set(row.order_id, (row.payload as OrderPayload<'OrderPlaced'>).lines);
    if (row.event_type === 'ShipmentsCreated') {
      for (const s of (row.payload as OrderPayload<'ShipmentsCreated'>).shipments)
        shipmentSeller.set(s.shipmentId, s.sellerId);
    }
  }
  for (const event of events) {
    const created = event.type === 'ShipmentsCreated';
    const sellers = new Set(
      created
        ? (event.payload as OrderPayload<'ShipmentsCreated'>).shipments.map((s) => s.sellerId)
        : (event.payload as OrderPayload<'ShipmentsCancelled'>).shipmentIds.flatMap(
            (id) => shipmentSeller.get(id) ?? [],
          ),
    );
    for (const line of lines.get(event.aggregateId) ?? []) {
      if (!sellers.has(line.sellerId)) continue;
      deltas.set(line.productId, (deltas.get(line.productId) ?? 0) + (created ? line.quantity : -line.quantity));
    }
  }
  return deltas;
}

type HistoryRow = { order_id: string; event_type: string; payload: unknown };

/**
 * The OrderPlaced and ShipmentsCreated events of the batch's orders. With one database, one query of
 * its event store; with shards, each order's events up to the batch's, wherever they are stored.
 */
async function orderHistory(ctx: ProjectionContext, events: readonly ProjectedEvent[]): Promise<HistoryRow[]> {
  if (!ctx.shards) {
    return ctx.tx.$queryRawUnsafe<HistoryRow[]>(
      `SELECT aggregate_id::text AS order_id, event_type, payload FROM domain_events
       WHERE aggregate_id = ANY($1::uuid[]) AND (version = 1 OR event_type = 'ShipmentsCreated')`,
      [...new Set(events.map((e) => e.aggregateId))],
    );
  }
  return (await ctx.shards.eventsUpTo(latestVersions(events)))
    .filter((e) => e.version === 1 || e.type === 'ShipmentsCreated')
    .map((e) => ({ order_id: e.aggregateId, event_type: e.type, payload: e.payload }));
}

/**
 * A product without a row (never created through events, e.g. an old fixture) has no search entry,
 * so its delta has nowhere to go and is dropped.
 */
async function addSales(ctx: ProjectionContext, deltas: Map<string, number>): Promise<string[]> {
  const changes = [...deltas].filter(([, delta]) => delta !== 0).map(([product_id, delta]) => ({ product_id, delta }));
  if (changes.length === 0) return [];
  const updated = await ctx.tx.$queryRawUnsafe<{ product_id: string }[]>(
    `UPDATE ${ctx.table(PRODUCT_SEARCH_VIEW)} v SET sales_count = v.sales_count + d.delta
     FROM jsonb_to_recordset($1::jsonb) AS d(product_id uuid, delta int)
     WHERE v.product_id = d.product_id
     RETURNING v.product_id::text AS product_id`,
    JSON.stringify(changes),
  );
  return updated.map((row) => cacheTags.product(row.product_id));
}

/**
 * Re-reads available stock for the products from the write model. Returns tags only for products
 * whose in-stock flag flipped: hits and facets show nothing finer.
 */
async function refreshStock(ctx: ProjectionContext, productIds: string[]): Promise<string[]> {
  if (productIds.length === 0) return [];
  const view = ctx.table(PRODUCT_SEARCH_VIEW);
  // Only a product crossing zero changes a facet (in stock or not): only those are recounted,
  // which spares every other stock move the per-word counts' dozens of rows.
  const flipping = (
    await ctx.tx.$queryRawUnsafe<{ product_id: string }[]>(
      `SELECT o.product_id::text AS product_id FROM ${view} o JOIN inventory i ON i.product_id = o.product_id
       WHERE o.product_id = ANY($1::uuid[]) AND o.in_stock <> (i.on_hand - i.reserved > 0)`,
      productIds,
    )
  ).map((row) => row.product_id);
  await countFacets(ctx, flipping, -1);
  const changed = await ctx.tx.$queryRawUnsafe<{ product_id: string; flipped: boolean }[]>(
    `UPDATE ${view} v SET available = s.available
     FROM (
       SELECT o.product_id, i.on_hand - i.reserved AS available, o.in_stock AS was_in_stock
       FROM ${view} o JOIN inventory i ON i.product_id = o.product_id
       WHERE o.product_id = ANY($1::uuid[])
     ) s
     WHERE v.product_id = s.product_id AND v.available <> s.available
     RETURNING v.product_id::text AS product_id, s.was_in_stock <> v.in_stock AS flipped`,
    productIds,
  );
  await countFacets(ctx, flipping, 1);
  return changed.filter((row) => row.flipped).map((row) => cacheTags.product(row.product_id));
}

/**
 * Takes the products' active rows out of the facet counts (sign -1, before changing them) or puts
 * them back in (+1, after): whatever the change did to a row's category, price range, rating,
 * stock or activity, the counts follow, set-based, without comparing old and new values.
 */
async function countFacets(ctx: ProjectionContext, productIds: string[], sign: 1 | -1): Promise<void> {
  if (productIds.length === 0) return;
  const view = ctx.table(PRODUCT_SEARCH_VIEW);
  await ctx.tx.$executeRawUnsafe(
    `INSERT INTO ${ctx.table(PRODUCT_SEARCH_FACET_COUNTS)} AS c (category_path, price_range, rating_bucket, in_stock, products)
     SELECT category_path, price_range, rating_bucket, in_stock, $2::int * count(*)::int
     FROM ${view} WHERE product_id = ANY($1::uuid[]) AND active
     GROUP BY category_path, price_range, rating_bucket, in_stock
     ON CONFLICT (category_path, price_range, rating_bucket, in_stock)
     DO UPDATE SET products = c.products + EXCLUDED.products`,
    productIds,
    sign,
  );
  await ctx.tx.$executeRawUnsafe(
    `INSERT INTO ${ctx.table(PRODUCT_SEARCH_SELLER_COUNTS)} AS c (seller_id, category_path, seller_name, products)
     SELECT seller_id, category_path, max(seller_name COLLATE "C"), $2::int * count(*)::int
     FROM ${view} WHERE product_id = ANY($1::uuid[]) AND active
     GROUP BY seller_id, category_path
     ON CONFLICT (seller_id, category_path)
     DO UPDATE SET products = c.products + EXCLUDED.products, seller_name = EXCLUDED.seller_name`,
    productIds,
    sign,
  );
  // Per word: each distinct lexeme of a product's vector, once per facet (see the migration
  // 20261207020000_product_search_term_facets). ORDER BY: concurrent upserts take rows in one order.
  await ctx.tx.$executeRawUnsafe(
    `INSERT INTO ${ctx.table(PRODUCT_SEARCH_TERM_FACETS)} AS c (lexeme, facet, value, label, products)
     SELECT l.lexeme, f.facet, f.value, max(f.label COLLATE "C"), $2::int * count(*)::int
     FROM ${view} v
     CROSS JOIN LATERAL unnest(tsvector_to_array(v.search_vector)) AS l(lexeme)
     CROSS JOIN LATERAL (VALUES
       ('category', v.category_path::text, NULL::text), ('price_range', v.price_range::text, NULL),
       ('rating', v.rating_bucket::text, NULL), ('in_stock', v.in_stock::text, NULL),
       ('seller', v.seller_id::text, v.seller_name::text)
     ) AS f(facet, value, label)
     WHERE v.product_id = ANY($1::uuid[]) AND v.active
     GROUP BY l.lexeme, f.facet, f.value
     ORDER BY l.lexeme, f.facet, f.value
     ON CONFLICT (lexeme, facet, value)
     DO UPDATE SET products = c.products + EXCLUDED.products, label = COALESCE(EXCLUDED.label, c.label)`,
    productIds,
    sign,
  );
}
