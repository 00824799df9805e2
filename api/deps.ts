import type { ApiKeyAuthenticator } from '../lib/api-keys';
import type { ReadCache } from '../lib/cache';
import type { Config } from '../lib/config';
import type { Database } from '../lib/database';
import type { Logger } from '../lib/logger';
import type { ApiMetrics } from '../lib/metrics';
import type { PositionWatcher } from '../lib/projections/position-watcher';
import type { Redis } from '../lib/redis';
import type { OrderCustomers } from './order-customers';
import type { TemporalClient } from '../lib/temporal';

/** Everything the API needs, created by the entry point (or a test) and passed in. */
export interface AppDeps {
  config: Config;
  db: Database;
  redis: Redis;
  temporal: TemporalClient;
  logger: Logger;
  /** The API's Prometheus metrics; createApp makes its own registry when none is given. */
  metrics?: ApiMetrics;
  /** The read cache (lib/cache.ts); createApp makes one on `redis` when none is given. */
  cache?: ReadCache;
  /** Checks API keys; createApp makes one on `db` (with config.apiKeys' cache) when none is given. */
  apiKeys?: ApiKeyAuthenticator;
  /** Read-your-writes waits listen for positions; without one they poll (lib/projections/consistency.ts). */
  positionWatcher?: PositionWatcher;
  /** Whose each order is, as this process learnt it (api/order-access.ts); createApp makes one. */
  orderCustomers?: OrderCustomers;
}
