import type { RequestHandler, Response } from 'express';
import type { RateLimitClass, RateLimitScope } from '../../platform/config';
import { throttledWarning } from '../../platform/throttled-warning';
import type { ApiMetrics } from '../../platform/metrics';
import {
  clientBucketId,
  createTokenBuckets,
  rateLimitKeys,
  type Bucket,
  type BucketState,
} from '../../access/rate-limit';
import type { AppDeps } from '../deps';
import { principalSubject } from './principal';
import { HttpProblem, problemTypes } from '../http/problem';

/**
 * Token-bucket rate limiting of /v1, before routing (so a request refused here runs nothing else,
 * not even body parsing). Each request takes a token from two buckets of its route class at once,
 * or from neither: its caller's (the principal's subject, when it has a valid key) and its IP's.
 *
 * Headers (draft-ietf-httpapi-ratelimit-headers) describe the bucket closer to refusing (fewest
 * tokens left): `RateLimit-Limit` is its burst, `RateLimit-Remaining` its tokens after this
 * request, `RateLimit-Reset` the seconds until it is full again. A 429's `Retry-After` is sooner:
 * the seconds until the refusing bucket holds a token.
 */

/** Express routes case-insensitively and ignores a trailing slash; the classes must too. */
const LIMITED_PATH = /^\/v1(\/|$)/i;
const ORDER_WRITE_PATH = /^\/v1\/orders(\/[^/]+\/cancel)?\/?$/i;

/** The route class of a request, or undefined when it is not limited (everything outside /v1). */
export function routeClass(method: string, path: string): RateLimitClass | undefined {
  if (!LIMITED_PATH.test(path)) return undefined;
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return 'read';
  if (method === 'POST' && ORDER_WRITE_PATH.test(path)) return 'orderWrite';
  return 'write';
}

/** Seconds a client is told to wait when the limiter cannot decide and fails closed. */
const UNAVAILABLE_RETRY_AFTER_S = 5;
const WARNING_INTERVAL_MS = 10_000;

const scopeNames: Record<RateLimitScope, string> = { key: 'caller (API key owner)', ip: 'client IP' };

export type RateLimitDeps = Pick<AppDeps, 'config' | 'redis' | 'logger'> & { metrics: ApiMetrics };

export function rateLimit({ config, redis, logger, metrics }: RateLimitDeps): RequestHandler {
  const { enabled, failMode, redisTimeoutMs, limits } = config.rateLimit;
  if (!enabled) return (_req, _res, next) => next();
  const tokens = createTokenBuckets(redis, { timeoutMs: redisTimeoutMs });
  const warn = throttledWarning(logger, WARNING_INTERVAL_MS);

  return async (req, res, next) => {
    const routeClassOf = routeClass(req.method, req.path);
    if (routeClassOf === undefined) {
      next();
      return;
    }
    const scopes: { scope: RateLimitScope; bucket: Bucket }[] = [];
    if (req.principal) {
      const key = rateLimitKeys.bucket(routeClassOf, 'key', principalSubject(req.principal));
      scopes.push({ scope: 'key', bucket: { key, ...limits[routeClassOf].key } });
    }
    const ipKey = rateLimitKeys.bucket(routeClassOf, 'ip', clientBucketId(req.ip));
    scopes.push({ scope: 'ip', bucket: { key: ipKey, ...limits[routeClassOf].ip } });

    let states: BucketState[];
    let allowed: boolean;
    try {
      ({ allowed, buckets: states } = await tokens.take(scopes.map((s) => s.bucket)));
    } catch (error) {
      metrics.rateLimitErrors.inc({ mode: failMode });
      warn(error, `rate limiter unavailable: failing ${failMode}`);
      if (failMode === 'open') {
        next();
        return;
      }
      next(
        new HttpProblem(
          503,
          problemTypes.rateLimiterUnavailable,
          'Service Unavailable',
          'the rate limiter cannot reach its store; retry later',
          undefined,
          { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) },
        ),
      );
      return;
    }

    const checked = scopes.map((s, i) => ({ ...s, state: states[i]! }));
    metrics.rateLimitDecisions.inc({ class: routeClassOf, result: allowed ? 'allowed' : 'limited' });
    if (allowed) {
      const tightest = checked.reduce((a, b) => (closerToRefusing(b.state, a.state) ? b : a));
      setRateLimitHeaders(res, tightest.bucket.burst, tightest.state);
      next();
      return;
    }
    // Of the buckets that refused, the one that takes longest to hold a token again.
    const refused = checked.filter((c) => c.state.retryAfterMs > 0);
    const refusing = (refused.length > 0 ? refused : checked).reduce((a, b) =>
      b.state.retryAfterMs > a.state.retryAfterMs ? b : a,
    );
    const { scope, bucket, state } = refusing;
    setRateLimitHeaders(res, bucket.burst, state);
    const retryAfterS = Math.max(1, Math.ceil(state.retryAfterMs / 1000));
    next(
      new HttpProblem(
        429,
        problemTypes.rateLimited,
        'Too Many Requests',
        `the ${routeClassOf} limit of this ${scopeNames[scope]} is reached (${bucket.burst} at once, then ` +
          `${bucket.perSecond} per second); retry in ${retryAfterS} s`,
        undefined,
        { 'Retry-After': String(retryAfterS) },
        { rateLimit: { class: routeClassOf, scope, burst: bucket.burst, perSecond: bucket.perSecond } },
      ),
    );
  };
}

function closerToRefusing(a: BucketState, b: BucketState): boolean {
  return a.remaining < b.remaining || (a.remaining === b.remaining && a.resetMs > b.resetMs);
}

function setRateLimitHeaders(res: Response, limit: number, state: BucketState): void {
  res.set({
    'RateLimit-Limit': String(limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(Math.ceil(state.resetMs / 1000)),
  });
}
