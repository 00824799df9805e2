import { createDashboardActivities } from './dashboard';
import { createInventoryActivities } from './inventory';
import { createOrderActivities } from './orders/orders';
import { createPaymentActivities } from './payments/payments';
import { createProbeActivities } from './probe';
import { createRebalanceActivities } from './rebalance/rebalance';
import type { PaymentProvider } from './payments/payment-provider';
import type { ShippingProvider } from './shipping/shipping-provider';
import { createShippingActivities } from './shipping/shipping';
import type { TagInvalidator } from '../read-models/cache';
import type { Database } from '../platform/database';
import type { ShardRouter } from '../platform/shards/router';
import type { CrossDatabaseDeps } from './orders/cross-database';
import type { WorkerMetrics } from '../platform/metrics';
import type { RedisClient } from '../platform/redis';

/** What the worker needs to build every activity; each area takes the part it uses. */
export interface ActivityDeps extends CrossDatabaseDeps {
  db: Database;
  redis: RedisClient;
  payments: PaymentProvider;
  shipping: ShippingProvider;
  /** Config SNAPSHOT_EVERY: how often an order's state is saved beside its events. */
  snapshotEvery?: number;
  /** The worker's metrics (the dashboard recalculation counts drift there). */
  metrics?: Pick<WorkerMetrics, 'dashboardDrift'>;
  /** The API's read cache, for invalidating what the dashboard recalculation heals. */
  cache?: TagInvalidator;
  /**
   * The shard map's router: every order step finds its order's database through it, and the
   * rebalance each shard's. A worker passes its process's router (createProcessShardRouter),
   * which reads the map version at most once per staleness bound, not once per order.
   */
  shards: ShardRouter;
}

/** All activities the worker registers, one factory per business area. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createProbeActivities(deps),
    ...createOrderActivities(deps),
    ...createInventoryActivities(deps),
    ...createPaymentActivities(deps),
    ...createShippingActivities(deps),
    ...createDashboardActivities(deps),
    ...createRebalanceActivities(deps),
  };
}
