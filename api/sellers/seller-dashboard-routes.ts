import { Router } from 'express';
import { z } from 'zod';
import { isUuid } from '../../domain/ids';
import type { Database } from '../../platform/database';
import { cacheTags, qualifiedTable } from '../../read-models/projections/projection';
import {
  monthlyRevenueAt,
  SELLER_DASHBOARD_VIEW,
  sellerDashboardProjection,
  type SellerDashboardRow,
} from '../../read-models/projections/seller-dashboard';
import { actsForSeller, allowRoles, ensureVisible, principalOf } from '../access/access';
import type { AppDeps } from '../deps';
import { sendEntry } from '../http/http-cache';
import { notFound } from '../http/problem';
import { awaitMinPositions, markFreshness, readEntry } from '../http/read-consistency';
import { parseOrProblem } from '../http/validation';

/**
 * GET /v1/sellers/{sellerId}/dashboard: the seller's metrics from `read_models.seller_dashboard_view`
 * (read-models/projections/seller-dashboard.ts defines each figure), through the read cache. Never reads the
 * write model: a seller with no row yet (no order, no product, and no recalculation since they
 * joined) is a 404.
 */

export const dashboardPath = z.object({ sellerId: z.string().refine(isUuid, 'must be a UUID') });

/** What the route answers. Money is in minor units of the catalogue's currency, as strings (int64-safe). */
export interface SellerDashboard {
  sellerId: string;
  sellerName: string;
  orders: { total: number; pending: number; paid: number };
  revenue: { totalMinor: string; monthlyMinor: string; month: string; averageOrderValueMinor: string | null };
  products: { total: number; active: number };
  reviews: { count: number; averageRating: string | null };
  /** When the figures last changed. */
  updatedAt: string;
  /** When the scheduled full recalculation last checked them; null until it first ran. */
  lastCalculatedAt: string | null;
}

export function toSellerDashboard(row: SellerDashboardRow, now: Date): SellerDashboard {
  const month = now.toISOString().slice(0, 7);
  return {
    sellerId: row.seller_id,
    sellerName: row.seller_name,
    orders: { total: row.total_orders, pending: row.pending_orders, paid: row.paid_orders },
    revenue: {
      totalMinor: row.total_revenue_minor,
      monthlyMinor: monthlyRevenueAt(row, now),
      month,
      averageOrderValueMinor: row.average_order_value_minor,
    },
    products: { total: row.total_products, active: row.active_products },
    reviews: { count: row.review_count, averageRating: row.average_rating },
    updatedAt: row.updated_at.toISOString(),
    lastCalculatedAt: row.last_calculated_at?.toISOString() ?? null,
  };
}

async function loadDashboard(db: Database, sellerId: string): Promise<SellerDashboard | undefined> {
  const [row] = await db.$queryRawUnsafe<SellerDashboardRow[]>(
    `SELECT seller_id::text, seller_name, total_orders, pending_orders, paid_orders,
       total_revenue_minor::text, monthly_revenue_minor::text, revenue_month::text,
       average_order_value_minor::text, total_products, active_products, review_count,
       average_rating::text, updated_at, last_calculated_at
     FROM ${qualifiedTable(SELLER_DASHBOARD_VIEW)} WHERE seller_id = $1::uuid`,
    sellerId,
  );
  return row ? toSellerDashboard(row, new Date()) : undefined;
}

export function sellerDashboardRoutes({ db, cache, config, positionWatcher }: AppDeps): Router {
  const router = Router();

  router.get('/v1/sellers/:sellerId/dashboard', allowRoles('seller', 'operator'), async (req, res) => {
    const { sellerId } = parseOrProblem(dashboardPath, req.params, 'path');
    ensureVisible(actsForSeller(principalOf(req), sellerId), `seller ${sellerId}`);
    // Read-your-writes: a seller that just changed a product waits for the dashboard to show it.
    const consistency = await awaitMinPositions(req, { db, config, positionWatcher }, sellerDashboardProjection);
    markFreshness(res, consistency);
    const entry = await readEntry(cache, consistency, {
      kind: 'dashboard',
      key: sellerId,
      tags: [cacheTags.seller(sellerId), cacheTags.projection(sellerDashboardProjection.name)],
      load: () => loadDashboard(db, sellerId),
    });
    if (!entry) throw notFound(`seller ${sellerId} has no dashboard (unknown seller, or nothing recorded yet)`);
    sendEntry(req, res, entry);
  });

  return router;
}
