import { z } from 'zod';
import { booleanFlag, countBetween, nonNegativeMs, positiveMs } from './values';
import { area, variable } from './variable';

/** API keys (access/api-keys.ts). */
export const apiKeys = area(
  { title: 'API keys' },
  {
    cacheTtlMs: variable('API_KEY_CACHE_TTL_MS', nonNegativeMs, {
      default: '10000',
      description: 'how long an API process trusts its last answer for a key: a revocation takes effect within it',
    }),
  },
);

/** A token bucket's capacity: how many requests may come at once. */
const burst = countBetween(1, 1_000_000);

/** A token bucket's refill rate; fractions allowed (0.5 = one request every two seconds). */
const perSecond = z.coerce
  .number({ error: 'must be a number of requests per second' })
  .positive('must be greater than 0')
  .max(1_000_000, 'must be at most 1000000');

/**
 * A route class's two buckets, the caller's (`<PREFIX>_BURST`, `<PREFIX>_PER_S`) and the client
 * IP's (`<PREFIX>_IP_BURST`, `<PREFIX>_IP_PER_S`), with their defaults as [burst, per second].
 */
function routeClass<const P extends string>(
  prefix: P,
  routes: string,
  defaults: { key: [string, string]; ip: [string, string] },
) {
  return z.object({
    key: z.object({
      burst: variable(`${prefix}_BURST`, burst, {
        default: defaults.key[0],
        description: `${routes}: requests a caller (API key owner) may make at once`,
      }),
      perSecond: variable(`${prefix}_PER_S`, perSecond, {
        default: defaults.key[1],
        description: `${routes}: tokens a caller's bucket gets back per second`,
      }),
    }),
    ip: z.object({
      burst: variable(`${prefix}_IP_BURST`, burst, {
        default: defaults.ip[0],
        description: `${routes}: requests one client IP may make at once`,
      }),
      perSecond: variable(`${prefix}_IP_PER_S`, perSecond, {
        default: defaults.ip[1],
        description: `${routes}: tokens an IP's bucket gets back per second`,
      }),
    }),
  });
}

/**
 * The API's token buckets (access/rate-limit.ts), per route class and per scope (the caller's
 * principal, the client IP); what happens while Redis cannot answer within `redisTimeoutMs`.
 */
export const rateLimit = area(
  {
    title: 'Rate limits',
    intro:
      'Token buckets in Redis for `/v1`, per route class: read (GET, HEAD), orderWrite (`POST /v1/orders` and ' +
      '`POST /v1/orders/{id}/cancel`) and write (every other method). Each class has one bucket per caller ' +
      '(the API key owner) and a looser one per client IP, since many callers may share an address (offices, NAT). ' +
      'BURST is how many requests may come at once, PER_S how many tokens come back per second (fractions allowed, ' +
      'e.g. 0.5).',
  },
  {
    enabled: variable('RATE_LIMIT_ENABLED', booleanFlag, {
      default: 'true',
      description: 'token-bucket rate limiting of `/v1`',
    }),
    failMode: variable('RATE_LIMIT_FAIL_MODE', z.enum(['open', 'closed'], { error: 'must be open or closed' }), {
      default: 'open',
      description:
        'while Redis cannot answer: `open` lets requests through (a warning, a metric), `closed` answers 503',
    }),
    redisTimeoutMs: variable('RATE_LIMIT_REDIS_TIMEOUT_MS', positiveMs, {
      default: '200',
      description: "how long a request waits for the rate limiter's Redis before the fail mode applies",
    }),
    limits: z.object({
      read: routeClass('RATE_LIMIT_READ', 'GET/HEAD', { key: ['100', '20'], ip: ['500', '100'] }),
      write: routeClass('RATE_LIMIT_WRITE', 'other writes', { key: ['30', '5'], ip: ['150', '25'] }),
      orderWrite: routeClass('RATE_LIMIT_ORDER_WRITE', 'placing and cancelling orders', {
        key: ['10', '1'],
        ip: ['50', '5'],
      }),
    }),
  },
);

type Limits = z.output<typeof rateLimit>['limits'];
/** Route classes of the rate limiter, each with its own buckets (api/access/rate-limit.ts classifies). */
export type RateLimitClass = keyof Limits;
/** Who a bucket counts: the caller's principal (its API key's owner) or the client IP. */
export type RateLimitScope = keyof Limits[RateLimitClass];
/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export type BucketLimit = Limits['read']['key'];
