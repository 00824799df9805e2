import { positiveMs } from './values';
import { area, variable } from './variable';

/** How each process's shard router keeps its copy of the shard map current (platform/shards/router.ts). */
export const shards = area(
  {
    title: 'Shard map',
    intro:
      'Each process routes customers to shards from a cached copy of the shard map ([docs/sharding.md](sharding.md)).',
  },
  {
    mapMaxStalenessMs: variable('SHARD_MAP_MAX_STALENESS_MS', positiveMs, {
      default: '1000',
      description:
        "how old a router's map may be while it cannot listen for map changes (it then reads the map version this often); " +
        '`shopflow shards rebalance` waits twice this after fencing a customer',
    }),
    mapSafetyCheckMs: variable('SHARD_MAP_SAFETY_CHECK_MS', positiveMs, {
      default: '30000',
      description:
        'how often a router that listens for map changes reads the map version anyway, on its listening connection (a missed notification, a connection gone silent)',
    }),
  },
);
