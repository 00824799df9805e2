import { Pool } from 'pg';
import type { Logger } from '../platform/logger';
import { shardDatabaseUrls } from '../platform/shards/shard-map';
import { ClaimPacer } from './claim-pacer';
import { runRelayLoop, type RelayLoopOptions } from './outbox-relay-loop';

/**
 * One relay loop per database of the shard map: the catalogue database's outbox (product events,
 * and the orders of customers it holds) and each shard's. Every loop is the single-database relay
 * (its own pool, LISTEN connection and per-aggregate advisory locks), so per-aggregate order holds
 * as it does in one database: an aggregate's pending rows are on one shard at a time. While a
 * customer moves, rows copied while pending may be published from both shards, once each; the
 * stream consumers' inbox skips the second.
 *
 * The loops share one ClaimPacer: claims woken by a NOTIFY are spaced `claimIntervalMs` apart across
 * all of them, so the claims per second of the process do not grow with the number of shards.
 *
 * The set of databases is read at start and again every `mapCheckMs`: a shard registered later gets
 * its loop then, a shard removed from the map has its loop stopped.
 */

export interface ShardRelaysOptions extends Omit<RelayLoopOptions, 'pool' | 'databaseUrl' | 'pacer'> {
  /** The catalogue database, which holds the shard map. */
  catalogueUrl: string;
  /** Connections per database's pool. */
  poolSize: number;
  mapCheckMs?: number;
}

interface RunningRelay {
  stop: AbortController;
  done: Promise<void>;
}

const DEFAULT_MAP_CHECK_MS = 10_000;

export async function runShardRelays(options: ShardRelaysOptions): Promise<void> {
  const { catalogueUrl, signal, logger } = options;
  const relays = new Map<string, RunningRelay>();
  const catalogue = poolFor(catalogueUrl, options.poolSize, logger);
  // One pace for all loops: N shards claim as often as one database would, each less often.
  const pacer = new ClaimPacer(options.settings.claimIntervalMs);

  const start = (url: string, pool: Pool): void => {
    const stop = new AbortController();
    const stopped = AbortSignal.any([signal, stop.signal]);
    const shardLogger = logger.child({ database: new URL(url).pathname.slice(1) });
    const done = runRelayLoop({
      ...options,
      logger: shardLogger,
      pool,
      databaseUrl: url,
      signal: stopped,
      pacer,
    }).finally(() => (pool === catalogue ? undefined : pool.end()));
    relays.set(url, { stop, done });
    shardLogger.info('relaying this database’s outbox');
  };

  const follow = async (): Promise<void> => {
    const urls = new Set([catalogueUrl, ...(await shardDatabaseUrls(catalogue))]);
    for (const url of urls) {
      if (!relays.has(url)) start(url, url === catalogueUrl ? catalogue : poolFor(url, options.poolSize, logger));
    }
    for (const [url, relay] of relays) {
      if (urls.has(url)) continue;
      relay.stop.abort();
      relays.delete(url);
      await relay.done;
    }
  };

  // The catalogue's own outbox first: a shard map that cannot be read holds nothing back.
  start(catalogueUrl, catalogue);
  try {
    while (!signal.aborted) {
      try {
        await follow();
      } catch (error) {
        logger.warn({ err: error }, 'reading the shard map failed; the running relays go on');
      }
      await sleep(options.mapCheckMs ?? DEFAULT_MAP_CHECK_MS, signal);
    }
  } finally {
    await Promise.all([...relays.values()].map((relay) => relay.done));
    await catalogue.end();
  }
}

function poolFor(url: string, poolSize: number, logger: Logger): Pool {
  const pool = new Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000 });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection lost'));
  return pool;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
