import type { ApiKeyAuthenticator } from '../access/api-keys';
import type { ReadCache } from '../read-models/cache';
import type { Config } from '../platform/config';
import type { Database } from '../platform/database';
import type { Logger } from '../platform/logger';
import type { ApiMetrics } from '../platform/metrics';
import type { PositionWatcher } from '../read-models/projections/position-watcher';
import type { RedisClient } from '../platform/redis';
import type { ShardRouter } from '../platform/shards/router';
import type { OrderCustomers } from './orders/order-customers';
import type { TemporalClient } from '../platform/temporal';

/** Everything the API needs, created by the entry point (or a test) and passed in. */
export interface AppDeps {
  config: Config;
  db: Database;
  redis: RedisClient;
  temporal: TemporalClient;
  logger: Logger;
  /** The API's Prometheus metrics; createApp makes its own registry when none is given. */
  metrics?: ApiMetrics;
  /** The read cache (read-models/cache.ts); createApp makes one on `redis` when none is given. */
  cache?: ReadCache;
  /** Checks API keys; createApp makes one on `db` (with config.apiKeys' cache) when none is given. */
  apiKeys?: ApiKeyAuthenticator;
  /** Read-your-writes waits listen for positions; without one they poll (read-models/projections/consistency.ts). */
  positionWatcher?: PositionWatcher;
  /** Whose each order is, as this process learnt it (api/orders/order-access.ts); createApp makes one. */
  orderCustomers?: OrderCustomers;
  /**
   * Where each customer's order-side rows are (api/orders/order-shard.ts). The API process passes
   * one that listens for map changes; createApp makes one on `db` that checks the map every second.
   */
  shards?: ShardRouter;
}
