import { ORDER_AGGREGATE, type OrderEventPayloads } from '../../domain/order-events';
import { terminalStatuses, type OrderStatus } from '../../domain/order-status';
import { PRODUCT_AGGREGATE, type ProductEventPayloads } from '../../domain/product-events';
import { cacheTags, type ProjectedEvent, type Projection, type ProjectionContext } from './projection';

/**
 * `seller_dashboard_view`: one row of metrics per seller, what a seller's dashboard shows.
 *
 * Definitions (the scheduled recalculation, read-models/seller-dashboard/recalculation.ts, computes the same from
 * the write model; both use `dashboardRowsSql`, so there is one definition):
 * - total orders: orders containing at least one of the seller's lines;
 * - pending orders: those of them not yet final (DELIVERED, FAILED or CANCELLED);
 * - revenue: the seller's line totals (lineTotalMinor, before commission) of orders whose payment
 *   was captured and not refunded; monthly revenue: the same for payments captured in the current
 *   UTC calendar month;
 * - average order value: revenue / the number of such paid, unrefunded orders (rounded half away
 *   from zero; null while there is none);
 * - total and active products; review count and average rating (2 decimals; null while there is
 *   no review) over all of the seller's products.
 * Amounts are minor units of the catalogue's single currency: orders of several currencies would
 * be summed as one (the catalogue has one currency today).
 *
 * How: two fact tables hold what the metrics are aggregated from, one row per (order, seller) and
 * per product. A batch of events upserts facts in a few set-based statements; live, it then
 * recomputes the touched sellers' rows from their facts (found by the seller_id indexes) in one
 * more. A rebuild only fills the facts batch by batch and computes every row once at the end. Each
 * fact row carries the aggregate version it reflects and ignores older events, because a healing
 * recalculation may write facts ahead of the projector.
 *
 * A seller's row appears with the first event that concerns them (or at the first recalculation,
 * which writes a row for every seller).
 */

export const SELLER_DASHBOARD_VIEW = 'seller_dashboard_view';
export const SELLER_ORDER_FACTS = 'seller_order_facts';
export const SELLER_PRODUCT_FACTS = 'seller_product_facts';

/** The status an order event moves the order to, for the events that move it. */
export const statusAfter: Partial<Record<string, OrderStatus>> = {
  OrderPlaced: 'PENDING',
  InventoryReserved: 'INVENTORY_RESERVED',
  PaymentCaptured: 'PAID',
  ShipmentsCreated: 'SHIPPED',
  OrderDelivered: 'DELIVERED',
  OrderFailed: 'FAILED',
  OrderCancelled: 'CANCELLED',
};

/** A placed order's share of one seller. */
export interface PlacedOrderFact {
  order_id: string;
  seller_id: string;
  version: number;
  gross_minor: number;
  placed_at: string;
}

/** What one order event changes in the order's facts (all of its sellers' rows). */
export interface OrderFactChange {
  order_id: string;
  version: number;
  status: OrderStatus | null;
  paid_at: string | null;
  refunded: boolean;
}

export interface CreatedProductFact {
  product_id: string;
  seller_id: string;
  version: number;
  active: boolean;
}

/** What one product event changes in the product's facts. */
export interface ProductFactChange {
  product_id: string;
  version: number;
  active: boolean | null;
  rating: number | null;
}

export interface FactChanges {
  placedOrders: PlacedOrderFact[];
  orderChanges: OrderFactChange[];
  createdProducts: CreatedProductFact[];
  productChanges: ProductFactChange[];
}

/**
 * The fact changes of a batch, one per event (pure). OrderPlaced and ProductCreated create facts;
 * every later event that matters becomes a change applied in version order by the SQL, which
 * skips those a fact row already reflects.
 */
export function factChanges(events: readonly ProjectedEvent[]): FactChanges {
  const changes: FactChanges = { placedOrders: [], orderChanges: [], createdProducts: [], productChanges: [] };
  for (const event of events) {
    if (event.aggregateType === ORDER_AGGREGATE) collectOrderChange(event, changes);
    else if (event.aggregateType === PRODUCT_AGGREGATE) collectProductChange(event, changes);
  }
  return changes;
}

function collectOrderChange(event: ProjectedEvent, changes: FactChanges): void {
  if (event.type === 'OrderPlaced') {
    const placed = event.payload as OrderEventPayloads['OrderPlaced'];
    const grossBySeller = new Map<string, number>();
    for (const line of placed.lines) {
      grossBySeller.set(line.sellerId, (grossBySeller.get(line.sellerId) ?? 0) + line.lineTotalMinor);
    }
    for (const [sellerId, gross] of grossBySeller) {
      changes.placedOrders.push({
        order_id: event.aggregateId,
        seller_id: sellerId,
        version: event.version,
        gross_minor: gross,
        placed_at: event.occurredAt.toISOString(),
      });
    }
    return;
  }
  const status = statusAfter[event.type] ?? null;
  const paidAt = event.type === 'PaymentCaptured' ? event.occurredAt.toISOString() : null;
  const refunded = event.type === 'PaymentRefunded';
  if (status === null && paidAt === null && !refunded) return;
  changes.orderChanges.push({ order_id: event.aggregateId, version: event.version, status, paid_at: paidAt, refunded });
}

function collectProductChange(event: ProjectedEvent, changes: FactChanges): void {
  switch (event.type) {
    case 'ProductCreated': {
      const created = event.payload as ProductEventPayloads['ProductCreated'];
      changes.createdProducts.push({
        product_id: event.aggregateId,
        seller_id: created.sellerId,
        version: event.version,
        active: created.active,
      });
      return;
    }
    case 'ProductUpdated': {
      const { changes: updated } = event.payload as ProductEventPayloads['ProductUpdated'];
      if (updated.active === undefined) return;
      changes.productChanges.push({
        product_id: event.aggregateId,
        version: event.version,
        active: updated.active,
        rating: null,
      });
      return;
    }
    case 'ProductReviewed': {
      const { rating } = event.payload as ProductEventPayloads['ProductReviewed'];
      changes.productChanges.push({ product_id: event.aggregateId, version: event.version, active: null, rating });
      return;
    }
  }
}

/** The first instant of the current UTC calendar month, in SQL. */
export const MONTH_START_SQL = `(date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`;
/** The current UTC calendar month as its first day, in SQL. */
export const CURRENT_MONTH_SQL = `(date_trunc('month', now() AT TIME ZONE 'UTC'))::date`;

/** The dashboard's figures, in the view's column order (without updated_at and last_calculated_at). */
export const DASHBOARD_FIGURES = [
  'seller_name',
  'total_orders',
  'pending_orders',
  'paid_orders',
  'total_revenue_minor',
  'monthly_revenue_minor',
  'revenue_month',
  'average_order_value_minor',
  'total_products',
  'active_products',
  'review_count',
  'rating_sum',
  'average_rating',
] as const;

/**
 * A SELECT of `seller_id` and DASHBOARD_FIGURES aggregated from the given fact tables, for the
 * sellers `sellersFrom` yields (a FROM item with a `seller_id` column). The one definition of the
 * metrics: the projection runs it over its facts for the sellers a batch touched, the
 * recalculation over facts freshly derived from the write model for every seller.
 */
export function dashboardRowsSql(orderFacts: string, productFacts: string, sellersFrom: string): string {
  const final = terminalStatuses.map((s) => `'${s}'`).join(', ');
  const paid = `paid_at IS NOT NULL AND NOT refunded`;
  return `SELECT s.seller_id,
      COALESCE(sel.name, '')::varchar(200) AS seller_name,
      o.total_orders, o.pending_orders, o.paid_orders, o.total_revenue_minor, o.monthly_revenue_minor,
      ${CURRENT_MONTH_SQL} AS revenue_month,
      CASE WHEN o.paid_orders > 0 THEN round(o.total_revenue_minor::numeric / o.paid_orders)::bigint END
        AS average_order_value_minor,
      p.total_products, p.active_products, p.review_count, p.rating_sum,
      CASE WHEN p.review_count > 0 THEN round(p.rating_sum::numeric / p.review_count, 2)::numeric(3, 2) END
        AS average_rating
    FROM ${sellersFrom}
    LEFT JOIN sellers sel ON sel.id = s.seller_id
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS total_orders,
        count(*) FILTER (WHERE status NOT IN (${final}))::int AS pending_orders,
        count(*) FILTER (WHERE ${paid})::int AS paid_orders,
        COALESCE(sum(gross_minor) FILTER (WHERE ${paid}), 0)::bigint AS total_revenue_minor,
        COALESCE(sum(gross_minor) FILTER (WHERE ${paid} AND paid_at >= ${MONTH_START_SQL}), 0)::bigint
          AS monthly_revenue_minor
      FROM ${orderFacts} WHERE seller_id = s.seller_id
    ) o
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS total_products,
        count(*) FILTER (WHERE active)::int AS active_products,
        COALESCE(sum(review_count), 0)::int AS review_count,
        COALESCE(sum(rating_sum), 0)::bigint AS rating_sum
      FROM ${productFacts} WHERE seller_id = s.seller_id
    ) p`;
}

/**
 * Upserts dashboard rows from a SELECT shaped like `dashboardRowsSql`'s. A row whose figures did
 * not change keeps its updated_at; last_calculated_at is the recalculation's to set.
 */
export function upsertDashboardRowsSql(view: string, rowsSql: string): string {
  const figures = DASHBOARD_FIGURES.join(', ');
  const excluded = DASHBOARD_FIGURES.map((c) => `EXCLUDED.${c}`).join(', ');
  return `INSERT INTO ${view} AS v (seller_id, ${figures}, updated_at)
    SELECT r.*, now() FROM (${rowsSql}) r
    ON CONFLICT (seller_id) DO UPDATE SET (${figures}, updated_at) = (${excluded}, now())
    WHERE (${DASHBOARD_FIGURES.map((c) => `v.${c}`).join(', ')}) IS DISTINCT FROM (${excluded})`;
}

async function applyFactChanges(changes: FactChanges, ctx: ProjectionContext): Promise<Set<string>> {
  const orderFacts = ctx.table(SELLER_ORDER_FACTS);
  const productFacts = ctx.table(SELLER_PRODUCT_FACTS);
  const touched = new Set<string>();
  const collect = (rows: { seller_id: string }[]) => rows.forEach((r) => touched.add(r.seller_id));

  if (changes.placedOrders.length > 0) {
    collect(
      await ctx.tx.$queryRawUnsafe<{ seller_id: string }[]>(
        `INSERT INTO ${orderFacts} (order_id, seller_id, version, gross_minor, status, placed_at)
         SELECT x.order_id, x.seller_id, x.version, x.gross_minor, 'PENDING', x.placed_at
         FROM jsonb_to_recordset($1::jsonb)
           AS x(order_id uuid, seller_id uuid, version int, gross_minor bigint, placed_at timestamptz)
         ON CONFLICT (order_id, seller_id) DO NOTHING
         RETURNING seller_id::text`,
        JSON.stringify(changes.placedOrders),
      ),
    );
  }
  if (changes.orderChanges.length > 0) {
    // Per fact row, only the changes newer than the version it reflects, folded in version order.
    collect(
      await ctx.tx.$queryRawUnsafe<{ seller_id: string }[]>(
        `UPDATE ${orderFacts} AS f SET
           status = COALESCE(d.status, f.status),
           paid_at = COALESCE(f.paid_at, d.paid_at),
           refunded = f.refunded OR d.refunded,
           version = d.version
         FROM (
           SELECT f2.order_id, f2.seller_id, max(x.version) AS version,
             (array_agg(x.status ORDER BY x.version DESC) FILTER (WHERE x.status IS NOT NULL))[1] AS status,
             min(x.paid_at) AS paid_at,
             bool_or(x.refunded) AS refunded
           FROM jsonb_to_recordset($1::jsonb)
             AS x(order_id uuid, version int, status varchar, paid_at timestamptz, refunded boolean)
           JOIN ${orderFacts} f2 ON f2.order_id = x.order_id AND x.version > f2.version
           GROUP BY f2.order_id, f2.seller_id
         ) d
         WHERE f.order_id = d.order_id AND f.seller_id = d.seller_id
         RETURNING f.seller_id::text`,
        JSON.stringify(changes.orderChanges),
      ),
    );
  }
  if (changes.createdProducts.length > 0) {
    collect(
      await ctx.tx.$queryRawUnsafe<{ seller_id: string }[]>(
        `INSERT INTO ${productFacts} (product_id, seller_id, version, active)
         SELECT x.product_id, x.seller_id, x.version, x.active
         FROM jsonb_to_recordset($1::jsonb) AS x(product_id uuid, seller_id uuid, version int, active boolean)
         ON CONFLICT (product_id) DO NOTHING
         RETURNING seller_id::text`,
        JSON.stringify(changes.createdProducts),
      ),
    );
  }
  if (changes.productChanges.length > 0) {
    collect(
      await ctx.tx.$queryRawUnsafe<{ seller_id: string }[]>(
        `UPDATE ${productFacts} AS f SET
           active = COALESCE(d.active, f.active),
           rating_sum = f.rating_sum + d.rating_sum,
           review_count = f.review_count + d.review_count,
           version = d.version
         FROM (
           SELECT x.product_id, max(x.version) AS version,
             (array_agg(x.active ORDER BY x.version DESC) FILTER (WHERE x.active IS NOT NULL))[1] AS active,
             COALESCE(sum(x.rating), 0) AS rating_sum,
             count(x.rating)::int AS review_count
           FROM jsonb_to_recordset($1::jsonb) AS x(product_id uuid, version int, active boolean, rating int)
           JOIN ${productFacts} f2 ON f2.product_id = x.product_id AND x.version > f2.version
           GROUP BY x.product_id
         ) d
         WHERE f.product_id = d.product_id
         RETURNING f.seller_id::text`,
        JSON.stringify(changes.productChanges),
      ),
    );
  }
  return touched;
}

async function applyDashboardEvents(events: readonly ProjectedEvent[], ctx: ProjectionContext): Promise<string[]> {
  const touched = await applyFactChanges(factChanges(events), ctx);
  // A rebuild's batch touches nearly every seller: recomputing their rows per batch would make the
  // rebuild quadratic. The rows are computed once, at the end (finishDashboardRebuild).
  if (ctx.rebuilding || touched.size === 0) return [];
  await ctx.tx.$executeRawUnsafe(
    upsertDashboardRowsSql(
      ctx.table(SELLER_DASHBOARD_VIEW),
      dashboardRowsSql(
        ctx.table(SELLER_ORDER_FACTS),
        ctx.table(SELLER_PRODUCT_FACTS),
        `unnest($1::uuid[]) AS s(seller_id)`,
      ),
    ),
    [...touched],
  );
  return [...touched].map(cacheTags.seller);
}

/**
 * Every seller's row from the rebuilt facts, in one statement: the sellers with facts, i.e. those
 * an event concerned, which are the sellers the live projection has rows for. (Rows the
 * recalculation wrote for sellers without any fact come back at its next run, which does not count
 * them as drift: sellerDrift in read-models/seller-dashboard/recalculation.ts.)
 */
async function finishDashboardRebuild(ctx: ProjectionContext): Promise<void> {
  const orderFacts = ctx.table(SELLER_ORDER_FACTS);
  const productFacts = ctx.table(SELLER_PRODUCT_FACTS);
  // The shadows were filled since they were created: without statistics the planner would guess.
  await ctx.tx.$executeRawUnsafe(`ANALYZE ${orderFacts}, ${productFacts}`);
  await ctx.tx.$executeRawUnsafe(
    upsertDashboardRowsSql(
      ctx.table(SELLER_DASHBOARD_VIEW),
      dashboardRowsSql(
        orderFacts,
        productFacts,
        `(SELECT seller_id FROM ${orderFacts} UNION SELECT seller_id FROM ${productFacts}) AS s`,
      ),
    ),
  );
}

export const sellerDashboardProjection: Projection = {
  name: SELLER_DASHBOARD_VIEW,
  aggregateTypes: [ORDER_AGGREGATE, PRODUCT_AGGREGATE],
  tables: [SELLER_DASHBOARD_VIEW, SELLER_ORDER_FACTS, SELLER_PRODUCT_FACTS],
  apply: applyDashboardEvents,
  finishRebuild: finishDashboardRebuild,
  // Per-seller totals are recomputed from facts of many orders and products (see Projection.serialized).
  serialized: true,
};

/** A dashboard row as the read route loads it. */
export interface SellerDashboardRow {
  seller_id: string;
  seller_name: string;
  total_orders: number;
  pending_orders: number;
  paid_orders: number;
  total_revenue_minor: string;
  monthly_revenue_minor: string;
  /** YYYY-MM-DD, the first day of the month `monthly_revenue_minor` is for. */
  revenue_month: string;
  average_order_value_minor: string | null;
  total_products: number;
  active_products: number;
  review_count: number;
  average_rating: string | null;
  updated_at: Date;
  last_calculated_at: Date | null;
}

/** `YYYY-MM-01` of the UTC calendar month `at` falls in. */
export function utcMonthOf(at: Date): string {
  return `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

/**
 * This month's revenue as of `now`: the stored figure is for `revenue_month`; a row no payment has
 * touched since an earlier month has had no revenue this month.
 */
export function monthlyRevenueAt(
  row: Pick<SellerDashboardRow, 'monthly_revenue_minor' | 'revenue_month'>,
  now: Date,
): string {
  return row.revenue_month === utcMonthOf(now) ? row.monthly_revenue_minor : '0';
}
