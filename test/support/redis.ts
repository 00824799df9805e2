import { Cluster } from 'ioredis';
import { createRedis, type RedisClient } from '../../platform/redis';

/**
 * The tests' Redis clients. In the Redis Cluster profile (`npm run test:redis-cluster`) the global
 * setup starts a cluster and sets REDIS_CLUSTER_NODES, so that these clients, and every client the
 * code under test makes from its config, go to the cluster; otherwise to the single Redis at `url`.
 * A cluster has only database 0: there, the files run one at a time (the profile runs in band)
 * instead of each on a database of its own.
 */

/** The cluster's seeds in the Redis Cluster profile, otherwise none. */
export function testRedisClusterNodes(): string[] {
  return (process.env['REDIS_CLUSTER_NODES'] ?? '').split(',').filter((node) => node !== '');
}

export const onRedisCluster = (): boolean => testRedisClusterNodes().length > 0;

/**
 * A client as the tests used to make with `new Redis(url, { maxRetriesPerRequest: 1 })`: it
 * connects on its first command and queues commands while Redis is away.
 */
export function testRedis(url: string, connectionName = 'shopflow-test'): RedisClient {
  return createRedis({ redis: { url, clusterNodes: testRedisClusterNodes() } }, connectionName, {
    queueWhileOffline: true,
  });
}

/** FLUSHDB on the single Redis, or on every master of the cluster (one FLUSHDB reaches one node). */
export async function flushTestRedis(redis: RedisClient): Promise<void> {
  if (!(redis instanceof Cluster)) {
    await redis.flushdb();
    return;
  }
  // The masters are known once the client is ready (a lazy client connects on its first command).
  if (redis.status === 'wait') await redis.connect();
  else if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  await Promise.all(redis.nodes('master').map((node) => node.flushdb()));
}
