import type { NextFunction, RequestHandler, Response } from 'express';
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

/** A bucket a request took its token from, and how it stood after. */
export interface TakenToken {
  scope: RateLimitScope;
  bucket: Bucket;
  state: BucketState;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's IP token, taken before its key was looked up: the limiter then takes only its caller's. */
    ipTokenTaken?: TakenToken;
  }
}

/**
 * The two halves of rate limiting around the key lookup (api/app.ts). A request whose key the
 * process has not checked lately (not in the key cache: a new key, or a made-up one) would cost a
 * database query to identify; `beforeKeyLookup` first takes its IP's token, so that a flood of
 * well-formed made-up keys costs a query per IP token, not per request: once the IP's bucket is
 * empty they are refused here, before any lookup. `rateLimit` then limits every request as before,
 * its caller's and IP's buckets all or none, except that a request whose IP token was taken
 * already takes only its caller's (so its IP pays once). The relaxation this costs: such a
 * request, refused by its caller's bucket, has spent its IP token; it happens once per key per
 * API_KEY_CACHE_TTL_MS per process.
 */
export function rateLimitMiddleware(deps: RateLimitDeps): {
  beforeKeyLookup: RequestHandler;
  rateLimit: RequestHandler;
} {
  const { enabled, failMode, redisTimeoutMs, limits } = deps.config.rateLimit;
  if (!enabled) {
    const pass: RequestHandler = (_req, _res, next) => next();
    return { beforeKeyLookup: pass, rateLimit: pass };
  }
  const { logger, metrics } = deps;
  const tokens = createTokenBuckets(deps.redis, { timeoutMs: redisTimeoutMs });
  const warn = throttledWarning(logger, WARNING_INTERVAL_MS);
  const ipScope = (routeClassOf: RateLimitClass, ip: string | undefined) => ({
    scope: 'ip' as const,
    bucket: { key: rateLimitKeys.bucket(routeClassOf, 'ip', clientBucketId(ip)), ...limits[routeClassOf].ip },
  });

  /**
   * Takes a token from each of `scopes`' buckets or from none. Returns the first bucket's token when
   * allowed, true when the request goes on undecided (Redis away, failing open), false when refused
   * (the 429 or 503 has gone to next()). `taken`: a bucket this request took from already (its IP's,
   * before its key was looked up), for the headers, which describe whichever bucket is closer to
   * refusing. `firstOfTwo`: the IP's check before a key lookup, which the request's own check follows.
   */
  const decide = async (
    routeClassOf: RateLimitClass,
    scopes: { scope: RateLimitScope; bucket: Bucket }[],
    res: Response,
    next: NextFunction,
    taken?: TakenToken,
    firstOfTwo = false,
  ): Promise<boolean | TakenToken> => {
    let states: BucketState[];
    let allowed: boolean;
    try {
      ({ allowed, buckets: states } = await tokens.take(scopes.map((s) => s.bucket)));
    } catch (error) {
      metrics.rateLimitErrors.inc({ mode: failMode });
      warn(error, `rate limiter unavailable: failing ${failMode}`);
      if (failMode === 'open') return true;
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
      return false;
    }
    const checked = scopes.map((s, i) => ({ ...s, state: states[i]! }));
    // One decision per request: the IP's check before a key lookup counts only when it refuses,
    // the request's last check counts either way.
    if (!allowed || !firstOfTwo) {
      metrics.rateLimitDecisions.inc({ class: routeClassOf, result: allowed ? 'allowed' : 'limited' });
    }
    if (allowed) {
      const tightest = [...checked, ...(taken ? [taken] : [])].reduce((a, b) =>
        closerToRefusing(b.state, a.state) ? b : a,
      );
      setRateLimitHeaders(res, tightest.bucket.burst, tightest.state);
      return checked[0]!;
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
    return false;
  };

  const beforeKeyLookup: RequestHandler = async (req, res, next) => {
    const routeClassOf = routeClass(req.method, req.path);
    if (routeClassOf === undefined || req.keyToLookUp === undefined) {
      next();
      return;
    }
    const taken = await decide(routeClassOf, [ipScope(routeClassOf, req.ip)], res, next, undefined, true);
    if (taken === false) return;
    if (taken !== true) req.ipTokenTaken = taken;
    next();
  };

  const rateLimit: RequestHandler = async (req, res, next) => {
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
    if (!req.ipTokenTaken) scopes.push(ipScope(routeClassOf, req.ip));
    if (scopes.length === 0) {
      // A key that turned out unknown, whose request took its IP's token already: allowed (to its 401).
      metrics.rateLimitDecisions.inc({ class: routeClassOf, result: 'allowed' });
      next();
      return;
    }
    if ((await decide(routeClassOf, scopes, res, next, req.ipTokenTaken)) !== false) next();
  };

  return { beforeKeyLookup, rateLimit };
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
