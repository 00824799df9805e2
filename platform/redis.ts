import { Cluster, Redis } from 'ioredis';
import type { Config } from './config';
import { printableUrl } from './postgres-admin';

/**
 * What every part of shopflow talks to Redis through: one Redis, or a Redis Cluster when
 * REDIS_CLUSTER_NODES is set. The code is written for both: a script or pipeline touches keys of
 * one hash slot only (docs/redis-cluster.md), and no code picks a database other than the one
 * REDIS_URL names (a cluster has only database 0).
 */
export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /**
   * Queue commands while Redis is away instead of failing them at once: for stream readers, whose
   * blocking reads would otherwise spin on errors until it is back. Other clients fail fast.
   */
  queueWhileOffline?: boolean;
}

const reconnectDelay = (attempt: number): number => Math.min(attempt * 200, 2_000);

/**
 * A Redis client that fails commands quickly while Redis is away (instead of queueing them
 * for ever), so that health checks and callers see the outage, and reconnects in the background.
 * Not connected yet: call connect(). On a cluster, a command whose master has failed fails the
 * same way until a replica takes over; the client then learns the new layout (MOVED, or its
 * refresh of the slots after a node's connection closed).
 */
export function createRedis(
  config: Pick<Config, 'redis'>,
  connectionName = 'shopflow',
  { queueWhileOffline = false }: RedisClientOptions = {},
): RedisClient {
  const common = {
    connectionName,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
  };
  const nodes = config.redis.clusterNodes ?? [];
  if (nodes.length === 0) {
    return new Redis(config.redis.url, {
      ...common,
      lazyConnect: true,
      enableOfflineQueue: queueWhileOffline,
      retryStrategy: reconnectDelay,
    });
  }
  const url = new URL(config.redis.url);
  return new Cluster(
    nodes.map((node) => {
      const at = node.lastIndexOf(':');
      return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
    }),
    {
      lazyConnect: true,
      enableOfflineQueue: queueWhileOffline,
      clusterRetryStrategy: reconnectDelay,
      // Reads go to masters: a replica may lag, and the cache's versions must be read where they are written.
      scaleReads: 'master',
      redisOptions: {
        ...common,
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
        ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
        ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    },
  );
}

/**
 * Connects, and on a cluster also opens the connection to every master: the client opens those on
 * a node's first command, and the first commands to each node waited about 220 ms here (measured:
 * 100 cache lookups right after connect), while a PING to every master first takes a few ms and the
 * same lookups then take 13. Rejects as connect() does.
 */
export async function openRedis(redis: RedisClient): Promise<void> {
  await redis.connect();
  if (redis instanceof Cluster) await Promise.all(redis.nodes('master').map((node) => node.ping()));
}

/** The URLs of the nodes a client starts from: REDIS_URL, or each cluster seed with its credentials. */
function seedUrls(config: Pick<Config, 'redis'>): string[] {
  const nodes = config.redis.clusterNodes ?? [];
  if (nodes.length === 0) return [config.redis.url];
  return nodes.map((node) => {
    const url = new URL(config.redis.url);
    url.host = node;
    url.pathname = '';
    return url.toString();
  });
}

/** Where Redis is, for messages and logs: its URL or the cluster's seed nodes, never a password. */
export function describeRedis(config: Pick<Config, 'redis'>): string {
  const nodes = config.redis.clusterNodes ?? [];
  if (nodes.length > 0) return `the Redis Cluster at ${nodes.join(',')}`;
  return printableUrl(config.redis.url);
}

/** Whether Redis (any seed node of a cluster) answers PING, without retrying: for start-up checks. */
export async function isRedisAnswering(config: Pick<Config, 'redis'>): Promise<boolean> {
  for (const url of seedUrls(config)) {
    const redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
      return true;
    } catch {
      // the next seed, if any
    } finally {
      redis.disconnect();
    }
  }
  return false;
}
