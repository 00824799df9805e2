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
      read: z.object({
        key: z.object({
          burst: variable('RATE_LIMIT_READ_BURST', burst, {
            default: '100',
            description: 'GET/HEAD: requests a caller (API key owner) may make at once',
          }),
          perSecond: variable('RATE_LIMIT_READ_PER_S', perSecond, {
            default: '20',
            description: "GET/HEAD: tokens a caller's bucket gets back per second",
          }),
        }),
        ip: z.object({
          burst: variable('RATE_LIMIT_READ_IP_BURST', burst, {
            default: '500',
            description: 'GET/HEAD: requests one client IP may make at once',
          }),
          perSecond: variable('RATE_LIMIT_READ_IP_PER_S', perSecond, {
            default: '100',
            description: "GET/HEAD: tokens an IP's bucket gets back per second",
          }),
        }),
      }),
      write: z.object({
        key: z.object({
          burst: variable('RATE_LIMIT_WRITE_BURST', burst, {
            default: '30',
            description: 'other writes: burst per caller',
          }),
          perSecond: variable('RATE_LIMIT_WRITE_PER_S', perSecond, {
            default: '5',
            description: 'other writes: refill per second per caller',
          }),
        }),
        ip: z.object({
          burst: variable('RATE_LIMIT_WRITE_IP_BURST', burst, {
            default: '150',
            description: 'other writes: burst per client IP',
          }),
          perSecond: variable('RATE_LIMIT_WRITE_IP_PER_S', perSecond, {
            default: '25',
            description: 'other writes: refill per second per client IP',
          }),
        }),
      }),
      orderWrite: z.object({
        key: z.object({
          burst: variable('RATE_LIMIT_ORDER_WRITE_BURST', burst, {
            default: '10',
            description: 'placing and cancelling orders: burst per caller',
          }),
          perSecond: variable('RATE_LIMIT_ORDER_WRITE_PER_S', perSecond, {
            default: '1',
            description: 'placing and cancelling orders: refill per second per caller',
          }),
        }),
        ip: z.object({
          burst: variable('RATE_LIMIT_ORDER_WRITE_IP_BURST', burst, {
            default: '50',
            description: 'placing and cancelling orders: burst per client IP',
          }),
          perSecond: variable('RATE_LIMIT_ORDER_WRITE_IP_PER_S', perSecond, {
            default: '5',
            description: 'placing and cancelling orders: refill per second per client IP',
          }),
        }),
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
