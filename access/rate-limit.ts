import ipaddr from 'ipaddr.js';
import type { BucketLimit, RateLimitClass, RateLimitScope } from '../platform/config';
import { takeTokensScript } from './rate-limit-script';
import type { RedisClient } from '../platform/redis';

/**
 * Token buckets in Redis, shared by every API process: one script call takes a token from each of
 * a request's buckets (its caller's and its IP's) or from none (access/rate-limit-script.ts).
 */

export interface Bucket extends BucketLimit {
  /** The Redis key, from `rateLimitKeys.bucket`. */
  key: string;
}

export interface BucketState {
  /** Tokens left: after this request when it was allowed, as they stand when it was refused. */
  remaining: number;
  /** Until the bucket is full again. */
  resetMs: number;
  /** Until the bucket holds a token again; 0 when it holds one now. */
  retryAfterMs: number;
}

export interface TokenDecision {
  allowed: boolean;
  /** One per bucket asked for, in the same order. */
  buckets: BucketState[];
}

export interface TokenBuckets {
  /** Rejects when Redis fails or gives no answer within the timeout: callers apply their fail mode. */
  take(buckets: readonly Bucket[]): Promise<TokenDecision>;
}

/**
 * Every bucket shares one hash tag, so that on a Redis Cluster a request's buckets (its caller's and
 * its IP's, which no other tag could put together: an IP serves many callers and a caller many IPs)
 * sit in one slot, and the script takes from both or from neither there too. The price: all rate
 * limits live on one master. That is chosen over spreading them, which would make the check two
 * steps that another request can see between: one master runs about 33,000 two-bucket checks/s
 * here (bench/results/ratelimit.json), far above what the API serves (docs/redis-cluster.md).
 */
const PREFIX = '{shopflow:ratelimit}';

export const rateLimitKeys = {
  bucket: (routeClass: RateLimitClass, scope: RateLimitScope, id: string) => `${PREFIX}:${routeClass}:${scope}:${id}`,
} as const;

/** The script counts whole microseconds: a rate's interval is rounded to one (at most 1e-6 s off). */
export function emissionIntervalUs(perSecond: number): number {
  return Math.max(1, Math.round(1_000_000 / perSecond));
}

/**
 * Written for a check on every request: one promise per check on top of the Redis call, and one
 * timer for all calls' deadlines (a timer and a Promise.race each cost more than the script).
 */
export function createTokenBuckets(redis: RedisClient, options: { timeoutMs: number }): TokenBuckets {
  const { timeoutMs } = options;
  const pending = new Set<{ at: number; reject: (error: Error) => void }>();
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = performance.now();
    for (const call of pending) {
      if (call.at <= now) {
        pending.delete(call);
        call.reject(new Error(`rate limit: Redis gave no answer within ${timeoutMs} ms`));
      }
    }
    if (pending.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  const evaluate = (keys: string[], args: number[]): Promise<unknown> =>
    redis.evalsha(takeTokensScript.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(takeTokensScript.source, keys.length, ...keys, ...args);
    });

  return {
    take(buckets) {
      const keys: string[] = [];
      const args: number[] = [];
      for (const bucket of buckets) {
        keys.push(bucket.key);
        args.push(emissionIntervalUs(bucket.perSecond), bucket.burst);
      }
      return new Promise((resolve, reject) => {
        const call = { at: performance.now() + timeoutMs, reject };
        pending.add(call);
        // A late answer is noticed within a quarter of the deadline.
        sweeper ??= setInterval(sweep, Math.max(1, Math.floor(timeoutMs / 4))).unref();
        evaluate(keys, args).then(
          (reply) => {
            pending.delete(call);
            try {
              resolve(parseReply(reply, buckets.length));
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          },
          (error: unknown) => {
            pending.delete(call);
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
  };
}

function parseReply(reply: unknown, count: number): TokenDecision {
  if (!Array.isArray(reply) || reply.length !== 1 + count * 3) {
    throw new Error(`rate limit: unexpected reply from Redis: ${JSON.stringify(reply)}`);
  }
  const buckets: BucketState[] = [];
  for (let i = 1; i < reply.length; i += 3) {
    buckets.push({ remaining: Number(reply[i]), resetMs: Number(reply[i + 1]), retryAfterMs: Number(reply[i + 2]) });
  }
  return { allowed: reply[0] === 1, buckets };
}

/**
 * What an IP bucket is keyed by. An IPv6 client usually holds a whole /64 and could rotate through
 * it, so IPv6 addresses count by their /64; IPv4-mapped IPv6 addresses count as the IPv4 address.
 */
export function clientBucketId(ip: string | undefined): string {
  if (ip === undefined || !ipaddr.isValid(ip)) return ip || 'unknown';
  const address = ipaddr.parse(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`;
}
