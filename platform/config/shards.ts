import { booleanFlag, positiveMs } from './values';
import { area, variable } from './variable';

/** How each process's shard router keeps its copy of the shard map current (platform/shards/router.ts). */
export const shards = area(
  {
    title: 'Shard map',
    intro:
      'Each process routes customers to shards from a cached copy of the shard map ([docs/sharding.md](sharding.md)).',
  },
  {
    mapListen: variable('SHARD_MAP_LISTEN', booleanFlag, {
      default: 'false',
      description:
        'listen for map changes (LISTEN/NOTIFY) instead of reading the map version every `SHARD_MAP_MAX_STALENESS_MS`. Off by default: in PostgreSQL every NOTIFY in the catalogue database (each outbox and read-model commit sends one) wakes every listening backend, which runs a transaction to read the queue, far more than one version read a second',
    }),
    mapMaxStalenessMs: variable('SHARD_MAP_MAX_STALENESS_MS', positiveMs, {
      default: '1000',
      description:
        "how old a router's map may be while it does not listen for map changes (it then reads the map version at most this often, when it routes); " +
        '`shopflow shards rebalance` waits twice this after fencing a customer',
    }),
    mapSafetyCheckMs: variable('SHARD_MAP_SAFETY_CHECK_MS', positiveMs, {
      default: '30000',
      description:
        'how often a router that listens for map changes reads the map version anyway, on its listening connection (a missed notification, a connection gone silent)',
    }),
  },
);
