import { z } from 'zod';
import { countBetween, nonNegativeMs, port, positiveMs } from './values';
import { area, variable } from './variable';

/** The API's read cache (read-models/cache.ts): time to live per kind of read. */
export const cache = area(
  { title: 'Read cache', intro: "The API's tagged read cache in Redis: time to live per kind of read." },
  {
    ttlMs: z.object({
      order: variable('CACHE_ORDER_TTL_MS', positiveMs, {
        default: '60000',
        description: 'TTL of cached order reads (`GET /v1/orders/{id}`)',
      }),
      orderList: variable('CACHE_ORDER_LIST_TTL_MS', positiveMs, {
        default: '30000',
        description: "TTL of cached order lists (a customer's or a seller's orders)",
      }),
      search: variable('CACHE_SEARCH_TTL_MS', positiveMs, {
        default: '30000',
        description: 'TTL of cached product searches',
      }),
      dashboard: variable('CACHE_DASHBOARD_TTL_MS', positiveMs, {
        default: '60000',
        description: 'TTL of cached seller dashboards',
      }),
    }),
  },
);

/** The kinds of read the cache keeps, each with its own TTL. */
export type CacheKind = keyof z.output<typeof cache>['ttlMs'];

/** Read models (read-models/projections) and the projector process. */
export const projections = area(
  { title: 'Read models', intro: 'The projections the API reads from, and the projector process that feeds them.' },
  {
    readYourWritesWaitMs: variable('READ_YOUR_WRITES_WAIT_MS', nonNegativeMs, {
      default: '2000',
      description: 'how long a read with `Shopflow-Min-Position` waits for the projection before falling back',
    }),
    readYourWritesMaxWaitMs: variable('READ_YOUR_WRITES_MAX_WAIT_MS', nonNegativeMs, {
      default: '30000',
      description:
        'the longest such a read waits when the client asks for longer with `Prefer: wait=<seconds>` (RFC 7240): a long poll instead of asking again and again',
    }),
    lagDegradedEvents: variable('PROJECTION_LAG_DEGRADED_EVENTS', countBetween(1, 1_000_000_000), {
      default: '1000',
      description: 'projection lag (events behind) past which `/health/ready` says DEGRADED',
    }),
    lagDegradedMs: variable('PROJECTION_LAG_DEGRADED_MS', positiveMs, {
      default: '30000',
      description: 'projection lag (age of the oldest unapplied event) past which `/health/ready` says DEGRADED',
    }),
    rebuildBatchSize: variable('PROJECTION_REBUILD_BATCH_SIZE', countBetween(1, 100_000), {
      default: '2000',
      description: 'events per batch of `shopflow projections rebuild`',
    }),
    metricsPort: variable('PROJECTOR_METRICS_PORT', port, {
      default: '9466',
      description: "port of the projector process's `/metrics` and `/health`",
    }),
    lingerMs: variable('PROJECTOR_LINGER_MS', nonNegativeMs, {
      default: '50',
      description:
        'least time between the starts of two projector rounds that are not full: entries trickling in are applied together (fewer, larger transactions), one after a quiet spell at once (`0`: no wait)',
    }),
  },
);

/** The seller dashboards' scheduled full recalculation (a Temporal Schedule). */
export const dashboard = area(
  { title: 'Seller dashboards' },
  {
    recalcIntervalMs: variable('DASHBOARD_RECALC_INTERVAL_MS', positiveMs, {
      default: '3600000',
      description: 'interval of the Temporal Schedule that recalculates every seller dashboard and heals drift',
    }),
  },
);
