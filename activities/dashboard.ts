import { log } from '@temporalio/activity';
import type { TagInvalidator } from '../read-models/cache';
import type { Database } from '../platform/database';
import { recalculateDashboards, type RecalculationSummary } from '../read-models/seller-dashboard/recalculation';
import type { WorkerMetrics } from '../platform/metrics';
import type { ShardRouter } from '../platform/shards/router';

/** The seller dashboards' scheduled recalculation, as an activity (workflows/dashboard-recalculation.ts). */

export interface DashboardActivityDeps {
  db: Database;
  /** Drift found is counted here (shopflow_dashboard_drift_total). */
  metrics?: Pick<WorkerMetrics, 'dashboardDrift'>;
  /** The recalculated sellers' cached dashboards are invalidated through it. */
  cache?: TagInvalidator;
  /** The worker's router: every shard's order facts are read through it (none: one made per run). */
  shards?: ShardRouter;
}

export function createDashboardActivities({ db, metrics, cache, shards }: DashboardActivityDeps) {
  return {
    /**
     * Idempotent: a retry recalculates again from the write model; drift it already healed is not
     * found twice. Drift is logged through the activity logger, with the workflow's ids attached.
     */
    async recalculateSellerDashboards(): Promise<RecalculationSummary> {
      return recalculateDashboards({
        db,
        ...(metrics ? { metrics } : {}),
        ...(cache ? { cache } : {}),
        ...(shards ? { shards } : {}),
        logger: {
          warn: (message, attributes) => {
            log.warn(message, attributes);
          },
        },
      });
    },
  };
}

export type DashboardActivities = ReturnType<typeof createDashboardActivities>;
