import type { RedisClient } from '../platform/redis';

/** How long the simulators keep their ledgers: long enough for any test or demo. */
const LEDGER_TTL_S = 7 * 24 * 3600;

/**
 * An external provider's idempotency, simulated in Redis: the first record stored under an
 * idempotency key wins, and every later call with that key gets the same record back.
 */
export async function recordOnce<T>(
  redis: RedisClient,
  hashKey: string,
  idempotencyKey: string,
  candidate: T,
): Promise<T> {
  const results = await redis
    .multi()
    .hsetnx(hashKey, idempotencyKey, JSON.stringify(candidate))
    .hget(hashKey, idempotencyKey)
    .expire(hashKey, LEDGER_TTL_S)
    .exec();
  const stored = results?.[1]?.[1];
  if (typeof stored !== 'string') throw new Error(`simulated provider lost its record ${hashKey} ${idempotencyKey}`);
  return JSON.parse(stored) as T;
}

export async function countAttempt(redis: RedisClient, key: string): Promise<number> {
  const results = await redis.multi().incr(key).expire(key, LEDGER_TTL_S).exec();
  return Number(results?.[0]?.[1] ?? 0);
}
