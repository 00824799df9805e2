import type { TagInvalidation, TagInvalidator } from '../cache';
import type { Database, Tx } from '../../platform/database';
import { withShardRouter } from '../../platform/shards/customer-database';
import type { ShardRouter } from '../../platform/shards/router';
import { projectionLockKey } from '../projections/apply';
import { cacheTags, qualifiedTable } from '../projections/projection';
import {
  CURRENT_MONTH_SQL,
  dashboardRowsSql,
  SELLER_DASHBOARD_VIEW,
  SELLER_ORDER_FACTS,
  SELLER_PRODUCT_FACTS,
  upsertDashboardRowsSql,
} from '../projections/seller-dashboard';
import { createFactsTable, readOrderFacts } from './order-facts';

/**
 * The seller dashboards' full recalculation, run on a schedule (workflows/dashboard-recalculation.ts).
 *
 * It derives every seller's facts from the WRITE model (orders, order_lines, payments, refunds
 * on every database of the shard map, see order-facts.ts; products and product_reviews in the
 * catalogue) and aggregates them with the projection's own SQL (one definition of each metric),
 * compares the result with `seller_dashboard_view`, reports each seller whose figures differ
 * (drift), and heals: facts and rows are overwritten with the write model's truth, and every row's
 * last_calculated_at is set. One transaction in the read database, holding the projection's lock
 * exclusively so that no live event is applied in between; the shards are read after the lock is
 * taken, so they hold at least every event the projection applied.
 *
 * Each derived fact carries its aggregate's latest event version (read in the same statement as
 * its rows, so from the same snapshot): the projector then skips events the recalculation
 * already reflects. A recalculation that runs while the projector lags behind reports the lag as
 * drift (and applies those changes early); on a quiet system any drift is a real defect.
 *
 * Products created without events (the demo catalogue's seed) reach the dashboard this way only.
 */

/** The figures compared; the seller's name and revenue_month are healed but not reported. */
export const COMPARED_FIGURES = [
  'total_orders',
  'pending_orders',
  'paid_orders',
  'total_revenue_minor',
  'monthly_revenue_minor',
  'average_order_value_minor',
  'total_products',
  'active_products',
  'review_count',
  'average_rating',
] as const;

export type ComparedFigure = (typeof COMPARED_FIGURES)[number];
type Figures = Record<ComparedFigure, string | null>;

export interface FieldDrift {
  from: string | null;
  to: string | null;
}

export interface SellerDrift {
  sellerId: string;
  /** True when the seller had no row at all. */
  missing: boolean;
  fields: Partial<Record<ComparedFigure, FieldDrift>>;
}

export interface RecalculationSummary {
  /** Sellers recalculated (every seller of the write model). */
  sellers: number;
  /** Sellers whose row differed from the write model's truth, and was healed. */
  drifted: number;
  /** The first drifts (at most MAX_REPORTED_DRIFTS); all of them are logged. */
  drifts: SellerDrift[];
  calculatedAt: string;
}

export const MAX_REPORTED_DRIFTS = 50;

/** Pino's and Temporal's activity logger both fit. */
export interface DriftLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface RecalculationOptions {
  /** The catalogue database, which is also the read database. */
  db: Database;
  /**
   * The process's shard router over `db`'s map. Without one, the recalculation makes its own for
   * the run (reading the map once) and closes it afterwards.
   */
  shards?: ShardRouter;
  /** Orders per page read on a database other than the catalogue (order-facts.ts, SHARD_PAGE_ORDERS). */
  shardPageOrders?: number;
  /** Invalidates the recalculated sellers' cache entries around the commit. */
  cache?: TagInvalidator;
  metrics?: { dashboardDrift: { inc(value?: number): void } };
  logger?: DriftLogger;
}

/**
 * The drift between a seller's current figures (undefined: no row) and the truth (pure). A seller
 * without a row and nothing to show (no order, no product) has not drifted: the row is simply new.
 */
export function sellerDrift(sellerId: string, current: Figures | undefined, truth: Figures): SellerDrift | undefined {
  const fields: SellerDrift['fields'] = {};
  for (const figure of COMPARED_FIGURES) {
    const from = current ? current[figure] : null;
    const to = truth[figure];
    const empty = current === undefined && (to === null || to === '0');
    if (from !== to && !empty) fields[figure] = { from, to };
  }
  if (Object.keys(fields).length === 0) return undefined;
  return { sellerId, missing: current === undefined, fields };
}

/** The compared figures of a row source as text (bigints stay exact; numeric keeps 2 decimals). */
function figuresJson(alias: string, monthlySql: string): string {
  const pairs = COMPARED_FIGURES.map((f) =>
    f === 'monthly_revenue_minor' ? `'${f}', (${monthlySql})::text` : `'${f}', ${alias}.${f}::text`,
  );
  return `jsonb_build_object(${pairs.join(', ')})`;
}

const TRUTH_ORDER_FACTS = 'dashboard_truth_order_facts';
const TRUTH_PRODUCT_FACTS = 'dashboard_truth_product_facts';
const TRUTH_ROWS = 'dashboard_truth_rows';

export async function recalculateDashboards(options: RecalculationOptions): Promise<RecalculationSummary> {
  return withShardRouter(options.db, options.shards, (router) => recalculate(router, options));
}

async function recalculate(router: ShardRouter, options: RecalculationOptions): Promise<RecalculationSummary> {
  const { db, cache, metrics, logger } = options;
  const view = qualifiedTable(SELLER_DASHBOARD_VIEW);
  const orderFacts = qualifiedTable(SELLER_ORDER_FACTS);
  const productFacts = qualifiedTable(SELLER_PRODUCT_FACTS);
  let invalidation: TagInvalidation | undefined;

  const summary = await db
    .$transaction(
      async (tx) => {
        await tx.$queryRawUnsafe(
          `SELECT pg_advisory_xact_lock(hashtext($1))::text`,
          projectionLockKey(SELLER_DASHBOARD_VIEW),
        );

        // The facts as the write model tells them, each with its aggregate's latest event version:
        // orders from every database of the shard map, products and reviews from the catalogue.
        await createFactsTable(tx, TRUTH_ORDER_FACTS);
        await readOrderFacts(tx, TRUTH_ORDER_FACTS, db, router, options.shardPageOrders);
        await tx.$executeRawUnsafe(
          `CREATE TEMP TABLE ${TRUTH_PRODUCT_FACTS} ON COMMIT DROP AS
         SELECT pr.id AS product_id, pr.seller_id, COALESCE(ev.version, 0) AS version, pr.active,
           COALESCE(rv.rating_sum, 0)::bigint AS rating_sum, COALESCE(rv.review_count, 0)::int AS review_count
         FROM products pr
         LEFT JOIN (SELECT product_id, sum(rating) AS rating_sum, count(*) AS review_count
                    FROM product_reviews GROUP BY product_id) rv ON rv.product_id = pr.id
         LEFT JOIN (SELECT aggregate_id, max(version) AS version FROM domain_events
                    WHERE aggregate_type = 'product' GROUP BY aggregate_id) ev ON ev.aggregate_id = pr.id`,
        );
        await tx.$executeRawUnsafe(`CREATE INDEX ON ${TRUTH_ORDER_FACTS} (seller_id)`);
        await tx.$executeRawUnsafe(`CREATE INDEX ON ${TRUTH_PRODUCT_FACTS} (seller_id)`);
        await tx.$executeRawUnsafe(
          `CREATE TEMP TABLE ${TRUTH_ROWS} ON COMMIT DROP AS
         ${dashboardRowsSql(TRUTH_ORDER_FACTS, TRUTH_PRODUCT_FACTS, `(SELECT id AS seller_id FROM sellers) AS s`)}`,
        );

        const compared = await tx.$queryRawUnsafe<{ seller_id: string; current: Figures | null; truth: Figures }[]>(
          `SELECT t.seller_id::text,
           CASE WHEN v.seller_id IS NOT NULL THEN
             ${figuresJson('v', `CASE WHEN v.revenue_month = ${CURRENT_MONTH_SQL} THEN v.monthly_revenue_minor ELSE 0 END`)}
           END AS current,
           ${figuresJson('t', 't.monthly_revenue_minor')} AS truth
         FROM ${TRUTH_ROWS} t LEFT JOIN ${view} v ON v.seller_id = t.seller_id
         ORDER BY t.seller_id`,
        );
        const drifts = compared.flatMap((row) => sellerDrift(row.seller_id, row.current ?? undefined, row.truth) ?? []);

        // Heal: the facts become the write model's, then every row is recomputed from them.
        await replaceFacts(
          tx,
          orderFacts,
          TRUTH_ORDER_FACTS,
          ['order_id', 'seller_id'],
          ['version', 'gross_minor', 'status', 'placed_at', 'paid_at', 'refunded'],
        );
        await replaceFacts(
          tx,
          productFacts,
          TRUTH_PRODUCT_FACTS,
          ['product_id'],
          ['seller_id', 'version', 'active', 'rating_sum', 'review_count'],
        );
        await tx.$executeRawUnsafe(upsertDashboardRowsSql(view, `SELECT * FROM ${TRUTH_ROWS}`));
        await tx.$executeRawUnsafe(
          `UPDATE ${view} SET last_calculated_at = now() WHERE seller_id IN (SELECT seller_id FROM ${TRUTH_ROWS})`,
        );
        const [clock] = await tx.$queryRawUnsafe<{ now: Date }[]>(`SELECT now()::timestamptz(3) AS now`);

        // Every row's last_calculated_at changed, so every seller's cached dashboard is stale.
        if (cache) invalidation = await cache.beginInvalidation(compared.map((row) => cacheTags.seller(row.seller_id)));
        return { sellers: compared.length, drifts, calculatedAt: (clock?.now ?? new Date()).toISOString() };
      },
      { timeout: 600_000, maxWait: 30_000 },
    )
    .finally(() => invalidation?.end());

  for (const drift of summary.drifts) {
    logger?.warn('seller dashboard drifted from the write model; healed', {
      sellerId: drift.sellerId,
      missing: drift.missing,
      fields: drift.fields,
    });
  }
  if (summary.drifts.length > 0) metrics?.dashboardDrift.inc(summary.drifts.length);
  return {
    sellers: summary.sellers,
    drifted: summary.drifts.length,
    drifts: summary.drifts.slice(0, MAX_REPORTED_DRIFTS),
    calculatedAt: summary.calculatedAt,
  };
}

/** Makes `table` hold exactly the rows of `truth`, writing only what differs. */
async function replaceFacts(tx: Tx, table: string, truth: string, key: string[], columns: string[]): Promise<void> {
  const keyList = key.join(', ');
  await tx.$executeRawUnsafe(
    `DELETE FROM ${table} f WHERE NOT EXISTS (SELECT 1 FROM ${truth} t WHERE ${key.map((k) => `t.${k} = f.${k}`).join(' AND ')})`,
  );
  await tx.$executeRawUnsafe(
    `INSERT INTO ${table} AS f (${keyList}, ${columns.join(', ')})
     SELECT ${keyList}, ${columns.join(', ')} FROM ${truth}
     ON CONFLICT (${keyList}) DO UPDATE SET (${columns.join(', ')}) = (${columns.map((c) => `EXCLUDED.${c}`).join(', ')})
     WHERE (${columns.map((c) => `f.${c}`).join(', ')}) IS DISTINCT FROM (${columns.map((c) => `EXCLUDED.${c}`).join(', ')})`,
  );
}
