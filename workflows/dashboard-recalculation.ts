import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { DashboardActivities } from '../activities/dashboard';

export type DashboardRecalculationSummary = Awaited<ReturnType<DashboardActivities['recalculateSellerDashboards']>>;

/**
 * One transaction over every seller: minutes at most on a large catalogue (its database transaction
 * times out at 10 minutes). Retried a few times on outages; the next scheduled run is the next
 * chance after that, so there is no point retrying forever.
 */
export const dashboardRecalculationOptions: ActivityOptions = {
  startToCloseTimeout: '11m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
};

const { recalculateSellerDashboards } = proxyActivities<DashboardActivities>(dashboardRecalculationOptions);

/**
 * The seller dashboards' full recalculation: started by the `seller-dashboard-recalculation`
 * Schedule (read-models/seller-dashboard/schedule.ts), or by hand. One activity does the work in one database
 * transaction; the workflow only gives it a timeout and retries, and returns what it found (the
 * summary is the workflow's result, visible in the Web UI and `temporal workflow show`).
 */
export async function dashboardRecalculationWorkflow(): Promise<DashboardRecalculationSummary> {
  return recalculateSellerDashboards();
}
