import { HashRing } from '../../domain/sharding/hash-ring';
import type { Config } from '../config';
import { createDatabase, type Database } from '../database';
import type { Logger } from '../logger';
import { sqlPoolOf } from '../sql-pool';
import { PartitionFencedError } from './partition-fence';
import { ringHash } from './ring-hash';
import { listenForShardMapChanges, type ShardMapListener } from './shard-map-listener';
import {
  DEFAULT_SHARD_ID,
  readShardMap,
  shardMapVersion,
  UnknownShardError,
  type ShardInfo,
  type ShardMapSnapshot,
} from './shard-map';

/**
 * Which shard holds a partition key, and the database client of that shard: the one place that
 * decides where customers' order data lives (docs/sharding.md).
 *
 * An explicit mapping wins over the ring; the ring is built from the ACTIVE shards of the map.
 * With no shard registered (or none active yet), every key stays on the catalogue database, the
 * `default` shard: one database, today's behaviour. The map is cached. A router that `listen`s
 * (every long-running process: worker, API, relay) hears of each change by LISTEN/NOTIFY
 * (shard-map-listener.ts) and asks nothing between changes, so routing adds no query to a request
 * or an activity. While it does not listen (not asked to, not connected yet, or its connection
 * lost), at most every `maxStalenessMs` one query compares the version with the cached one. Either
 * way the whole map is read again only when the version moved. A key's shard can be stale for up to
 * `maxStalenessMs` after a change: moving a customer has to fence the key's writes and wait that out,
 * not rely on every router seeing the flip at once.
 *
 * A fenced key (its move under way, or the ring about to change under it) still has a route, with
 * `fenced` set; `databaseFor` refuses it with a PartitionFencedError, so a writer retries later
 * instead of writing rows that are being copied away.
 */

/** How old a router's map may be by default; the rebalancer waits out at least this after fencing a key. */
export const DEFAULT_MAP_MAX_STALENESS_MS = 1_000;

export interface ShardRoute {
  partitionKey: string;
  shardId: string;
  databaseUrl: string;
  /** null for the default shard. */
  region: string | null;
  /** The key's position on the ring. */
  hash: number;
  /** The map version the answer was read from. */
  mapVersion: number;
  via: 'mapping' | 'ring' | 'default';
  /** Writes to the key are fenced for now: `databaseFor` throws PartitionFencedError. */
  fenced: boolean;
}

export interface ShardRouter {
  /** Where `partitionKey` lives now (as of a map at most `maxStalenessMs` old). */
  shardFor(partitionKey: string): Promise<ShardRoute>;
  /**
   * The database client of the shard that holds `partitionKey`, with the route that chose it.
   * PartitionFencedError when the key's writes are fenced (a move of it under way): retry later.
   */
  databaseFor(partitionKey: string): Promise<{ route: ShardRoute; db: Database }>;
  /** The client of one shard by id; UnknownShardError when the map has no such shard. */
  database(shardId: string): Promise<Database>;
  /**
   * Every database of the map, the catalogue first, each once: for work that each database does
   * for itself (sweeping expired rows, relaying its outbox), never for answering a question.
   */
  databases(): Promise<Database[]>;
  /** Reads the map version now (and the map if it moved), whatever the staleness allows. */
  refresh(): Promise<number>;
  /** Closes the clients this router opened; the catalogue client is its owner's to close. */
  close(): Promise<void>;
}

export interface ShardRouterOptions {
  /** The catalogue database: holds the shard map, and is the default shard. */
  catalogue: Database;
  /** The catalogue's URL (to recognise a shard that is the catalogue database) and the pool size per shard. */
  database: Config['database'];
  /** How old the map may be while the router does not listen (config SHARD_MAP_MAX_STALENESS_MS). */
  maxStalenessMs?: number;
  virtualNodes?: number;
  /**
   * Listen for map changes on one connection of its own instead of checking the version every
   * `maxStalenessMs` (config SHARD_MAP_SAFETY_CHECK_MS: how often the listener reads it anyway).
   */
  listen?: { safetyCheckMs: number; logger?: Logger };
}

interface LoadedMap {
  snapshot: ShardMapSnapshot;
  byId: Map<string, ShardInfo>;
  ring: HashRing | undefined;
  /** The ring once the JOINING shards are ACTIVE, while a rebalance fences the change to it. */
  nextRing: HashRing | undefined;
}

export function createShardRouter(options: ShardRouterOptions): ShardRouter {
  const { catalogue } = options;
  const maxStalenessMs = options.maxStalenessMs ?? DEFAULT_MAP_MAX_STALENESS_MS;
  // A fence is lifted in the map; this router sees that within its staleness, and a move takes a second or more.
  const retryAfterMs = Math.max(1_000, maxStalenessMs);
  /** Clients by database URL: a shard whose URL changes gets a new client, never another shard's. */
  const clients = new Map<string, Database>([[options.database.url, catalogue]]);
  let loaded: LoadedMap | undefined;
  let checkedAt = -Infinity;
  let checking: Promise<LoadedMap> | undefined;
  let closed = false;
  /** True while the listener's connection is up: the cached map is then current until it says otherwise. */
  let listening = false;
  /** The cached map may be behind: a notification named another version, or the listener (re)connected or was lost. */
  let stale = true;
  const listener: ShardMapListener | undefined = options.listen
    ? listenForShardMapChanges(
        sqlPoolOf(catalogue).options.connectionString ?? options.database.url,
        {
          version: (version) => {
            if (loaded?.snapshot.version !== version) stale = true;
          },
          listening: () => {
            stale = true;
            listening = true;
          },
          lost: () => {
            listening = false;
            stale = true;
          },
        },
        options.listen,
      )
    : undefined;

  const ringOf = (ids: string[]): HashRing | undefined =>
    ids.length > 0 ? new HashRing(ids, { hash: ringHash, virtualNodes: options.virtualNodes }) : undefined;

  const load = (snapshot: ShardMapSnapshot): LoadedMap => {
    const active = snapshot.shards.filter((s) => s.state === 'ACTIVE').map((s) => s.id);
    const joining = snapshot.shards.filter((s) => s.state === 'JOINING').map((s) => s.id);
    return {
      snapshot,
      byId: new Map(snapshot.shards.map((s) => [s.id, s])),
      ring: ringOf(active),
      nextRing: snapshot.ringChangeFenced && joining.length > 0 ? ringOf([...active, ...joining]) : undefined,
    };
  };

  /** One check at a time: concurrent requests share it instead of each querying the version. */
  const check = (): Promise<LoadedMap> => {
    checking ??= (async () => {
      // Cleared before the read: a notification that arrives during it marks the map stale again.
      stale = false;
      try {
        const version = await shardMapVersion(catalogue);
        if (loaded?.snapshot.version !== version) loaded = load(await readShardMap(catalogue));
        checkedAt = performance.now();
        return loaded;
      } catch (error) {
        stale = true;
        throw error;
      } finally {
        checking = undefined;
      }
    })();
    return checking;
  };

  const current = async (): Promise<LoadedMap> => {
    if (closed) throw new Error('the shard router is closed');
    if (loaded && !stale && (listening || performance.now() - checkedAt < maxStalenessMs)) return loaded;
    return check();
  };

  const route = (map: LoadedMap, partitionKey: string): ShardRoute => {
    const hash = ringHash(partitionKey);
    const mapped = map.snapshot.mappings.get(partitionKey);
    const shardId = mapped ?? map.ring?.shardAt(hash);
    const ringWillMove = !mapped && map.nextRing !== undefined && map.nextRing.shardAt(hash) !== shardId;
    const fenced = map.snapshot.fenced.has(partitionKey) || ringWillMove;
    const base = { partitionKey, hash, mapVersion: map.snapshot.version, fenced };
    if (shardId === undefined) {
      return { ...base, shardId: DEFAULT_SHARD_ID, databaseUrl: options.database.url, region: null, via: 'default' };
    }
    // Mappings reference shards by foreign key, and the ring holds only registered shards.
    const shard = map.byId.get(shardId)!;
    return {
      ...base,
      shardId,
      databaseUrl: shard.databaseUrl,
      region: shard.region,
      via: mapped ? 'mapping' : 'ring',
    };
  };

  const clientFor = (databaseUrl: string): Database => {
    let client = clients.get(databaseUrl);
    if (!client) {
      client = createDatabase({ database: { url: databaseUrl, poolSize: options.database.poolSize } });
      clients.set(databaseUrl, client);
    }
    return client;
  };

  return {
    async shardFor(partitionKey) {
      return route(await current(), partitionKey);
    },
    async databaseFor(partitionKey) {
      const found = route(await current(), partitionKey);
      if (found.fenced) throw new PartitionFencedError(partitionKey, retryAfterMs);
      return { route: found, db: clientFor(found.databaseUrl) };
    },
    async database(shardId) {
      if (shardId === DEFAULT_SHARD_ID) return catalogue;
      let map = await current();
      // A shard registered a moment ago may be newer than the cached map: look once more.
      if (!map.byId.has(shardId)) map = await check();
      const shard = map.byId.get(shardId);
      if (!shard) throw new UnknownShardError(shardId, [DEFAULT_SHARD_ID, ...map.byId.keys()]);
      return clientFor(shard.databaseUrl);
    },
    async databases() {
      const map = await current();
      return [...new Set([catalogue, ...map.snapshot.shards.map((shard) => clientFor(shard.databaseUrl))])];
    },
    async refresh() {
      if (closed) throw new Error('the shard router is closed');
      return (await check()).snapshot.version;
    },
    async close() {
      closed = true;
      await listener?.close();
      const owned = [...clients.values()].filter((client) => client !== catalogue);
      clients.clear();
      // A shard whose server is gone fails its disconnect; that must not hide why the caller is closing.
      await Promise.allSettled(owned.map((client) => client.$disconnect()));
    },
  };
}

/**
 * The router of a long-running process (worker, API, relay), as `config.shards` says: by default
 * it reads the map version at most every SHARD_MAP_MAX_STALENESS_MS, and only when it routes;
 * with SHARD_MAP_LISTEN it listens for map changes instead. Reading is the default because
 * PostgreSQL wakes every listening backend of a database for each NOTIFY in it, on any channel,
 * and each wake-up is a transaction: measured with bench:platform at one client, the three
 * processes' listeners added 6.7 transactions per order (14.8 → 21.6), where the version reads
 * cost at most one per second per process.
 */
export function createProcessShardRouter(
  catalogue: Database,
  config: Pick<Config, 'database' | 'shards'>,
  logger?: Logger,
): ShardRouter {
  return createShardRouter({
    catalogue,
    database: config.database,
    maxStalenessMs: config.shards.mapMaxStalenessMs,
    ...(config.shards.mapListen
      ? { listen: { safetyCheckMs: config.shards.mapSafetyCheckMs, ...(logger ? { logger } : {}) } }
      : {}),
  });
}
