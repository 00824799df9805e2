import { Redis } from 'ioredis';
import type { Config } from './config';

export type { Redis };

/**
 * A Redis client that fails commands quickly while Redis is away (instead of queueing them
 * for ever), so that health checks and callers see the outage, and reconnects in the background.
 */
export function createRedis(config: Pick<Config, 'redis'>, connectionName = 'shopflow'): Redis {
  return new Redis(config.redis.url, {
    connectionName,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}

/** Whether a Redis answers PING at the URL, without retrying: for start-up checks. */
export async function isRedisAnswering(url: string): Promise<boolean> {
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
    return false;
  } finally {
    redis.disconnect();
  }
}
