import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiResponseObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { PROBLEM_CONTENT_TYPE } from '../http/problem';
import { problemDetails } from './responses';

/**
 * The pieces every operation of the document is made of: its problem answers, the headers the
 * pipeline in api/app.ts puts on every response, and the request headers of idempotent writes,
 * conditional writes and read-your-writes reads.
 */

export const BEARER = 'apiKey';

const requestIdHeader = {
  'X-Request-Id': z.string().meta({ description: "The request's id (the caller's own, when it sent a valid one)" }),
};

/**
 * On /v1 responses (api/access/rate-limit.ts): absent when rate limiting is off, or failed open because
 * Redis did not answer.
 */
const rateLimitHeaders = {
  'RateLimit-Limit': z.string().optional().meta({ description: 'Requests allowed in the window (IETF RateLimit)' }),
  'RateLimit-Remaining': z.string().optional().meta({ description: 'Requests left in the current window' }),
  'RateLimit-Reset': z.string().optional().meta({ description: 'Seconds until the window resets' }),
};

const retryAfter = z.string().meta({ description: 'Seconds to wait before retrying' });

export type Scope = 'v1' | 'public';

export function responseHeaders(scope: Scope, extra: z.ZodRawShape = {}) {
  return z.object({ ...requestIdHeader, ...(scope === 'v1' ? rateLimitHeaders : {}), ...extra });
}

const problemDescriptions: Record<number, string> = {
  400: 'Bad input: malformed JSON, or an `errors` entry per bad field (`body.x`, `query.x`, `path.x`, `header.X`)',
  401: 'No valid API key (missing, malformed, unknown or revoked)',
  403: 'The key may never use this route, or the domain refuses (e.g. a review by someone who never bought)',
  404: 'No such resource, or not one of yours (ids cannot be probed)',
  405: 'The path exists under other methods (see Allow)',
  409: 'Conflicts with the current state',
  412: 'If-Match names a version that is no longer current',
  413: 'The body is over the size limit',
  415: 'The body is not application/json',
  422: 'Well-formed, but refused by the business rules',
  429: 'Rate limited (`rateLimit` names the limit): retry after Retry-After seconds',
  500: 'Unexpected error (its details are in the log under the request id)',
  503: 'A dependency (Temporal, PostgreSQL, the rate limiter) is unavailable: retry after Retry-After seconds',
};

/** Headers beyond the common ones that a problem of this status always carries. */
const problemHeaders: Record<number, z.ZodRawShape> = {
  401: { 'WWW-Authenticate': z.string().meta({ example: 'Bearer' }) },
  405: { Allow: z.string().meta({ example: 'GET, HEAD' }) },
  // Only where waiting helps: an Idempotency-Key whose first request is still running.
  409: { 'Retry-After': retryAfter.optional() },
  429: { 'Retry-After': retryAfter },
  503: { 'Retry-After': retryAfter },
};

/** The common answers are components (one object each, which the generator turns into a $ref). */
const sharedProblems = new Map<string, ZodOpenApiResponseObject>();

export function problem(status: number, scope: Scope, description?: string): ZodOpenApiResponseObject {
  const build = (id?: string): ZodOpenApiResponseObject => ({
    ...(id === undefined ? {} : { id }),
    description: description ?? problemDescriptions[status] ?? 'Problem',
    headers: responseHeaders(scope, problemHeaders[status]),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: problemDetails } },
  });
  if (description !== undefined) return build();
  const id = `${scope === 'v1' ? 'Problem' : 'PublicProblem'}${status}`;
  let shared = sharedProblems.get(id);
  if (!shared) sharedProblems.set(id, (shared = build(id)));
  return shared;
}

export function json(
  description: string,
  schema: z.ZodType,
  scope: Scope = 'v1',
  headers: z.ZodRawShape = {},
): ZodOpenApiResponseObject {
  return {
    description,
    headers: responseHeaders(scope, headers),
    content: { 'application/json': { schema } },
  };
}

/**
 * Problems any request can get, whatever its operation: a body is read (and refused when it is not
 * JSON, is malformed or too large) before routing, even on a GET; /v1 also needs a key and is rate limited.
 */
const anyRequestProblems = [400, 413, 415, 500];
const v1Problems = [...anyRequestProblems, 401, 429, 503];
/** Problems of reading a request body (api/app.ts: requireJsonBodies, express.json). */
export const bodyProblems = [400, 413, 415];

export function problems(statuses: number[], scope: Scope = 'v1', described: Record<number, string> = {}) {
  const all = new Set([...statuses, ...(scope === 'v1' ? v1Problems : anyRequestProblems)]);
  const responses: ZodOpenApiResponsesObject = {};
  for (const status of [...all].sort()) {
    responses[`${status}` as `4${string}`] = problem(status, scope, described[status]);
  }
  return responses;
}

/** 304 to a matching If-None-Match: the read-cache's ETags (api/http/http-cache.ts). */
export const notModified: ZodOpenApiResponseObject = {
  description: 'Not Modified: the representation still has the ETag sent in If-None-Match',
  headers: responseHeaders('v1', { ETag: z.string(), 'Cache-Control': z.string() }),
};

/** Headers of a read served from the read cache. */
export const cachedReadHeaders: z.ZodRawShape = {
  ETag: z.string().meta({ description: 'Send it back in If-None-Match to get 304 when nothing changed' }),
  'Cache-Control': z.string().meta({ example: 'private, no-cache' }),
  'Shopflow-Consistency': z
    .enum(['reached', 'fallback', 'stale'])
    .optional()
    .meta({ description: 'Whether Shopflow-Min-Position was reached, or what the read fell back to' }),
  'Preference-Applied': z.string().optional().meta({
    description: 'How long the read allowed itself to wait for Shopflow-Min-Position, when Prefer asked (RFC 7240)',
    example: 'wait=30',
  }),
};

export const positionHeader = {
  'Shopflow-Position': z
    .string()
    .meta({ description: "The write's last event position: send it in Shopflow-Min-Position to read your write" }),
};

/** Request headers of reads from the read models. */
export const readHeaders = z.object({
  'Shopflow-Min-Position': z
    .string()
    .optional()
    .meta({ description: 'Positions (from Shopflow-Position) the read waits for, comma-separated' }),
  Prefer: z.string().optional().meta({
    description:
      "RFC 7240. `wait=<seconds>`: how long the read may wait for Shopflow-Min-Position (a long poll), up to the server's maximum; a preference that does not parse is ignored",
    example: 'wait=30',
  }),
  'If-None-Match': z.string().optional().meta({ description: 'An ETag of an earlier answer' }),
});

export const v1Operation = (tag: string, summary: string, operation: Omit<ZodOpenApiOperationObject, 'tags'>) => ({
  tags: [tag],
  summary,
  security: [{ [BEARER]: [] }],
  ...operation,
});
