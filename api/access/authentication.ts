import type { RequestHandler } from 'express';
import type { ApiKeyAuthenticator } from '../../access/api-keys';
import './principal';
import { HttpProblem, problemTypes } from '../http/problem';

/**
 * Everything under /v1 needs a key. The rest is public: health probes for load balancers,
 * Prometheus' /metrics, the API's contract (/openapi.json, /docs), and 404s for unknown paths.
 */
// Case-insensitive, as express routes match: /V1/Orders reaches the same handlers.
export const needsKey = (path: string): boolean => /^\/v1(\/|$)/i.test(path);

/**
 * Reads `Authorization: Bearer <key>` and sets `req.principal` for a valid key. It rejects
 * nothing itself: rate limiting runs next (so that bad keys are limited by IP too), then
 * `requireKey` refuses what needs a key.
 */
export function identifyCaller(authenticator: ApiKeyAuthenticator): RequestHandler {
  return async (req, _res, next) => {
    // Public paths never look a key up: a flood of made-up keys there costs no query.
    const key = needsKey(req.path) ? bearerToken(req.headers.authorization) : undefined;
    if (key !== undefined) {
      const principal = await authenticator.authenticate(key);
      if (principal) {
        req.principal = principal;
        // Every later log line of this request names the key (never the key itself).
        req.log = req.log?.child({ keyId: principal.keyId, role: principal.role });
      }
    }
    next();
  };
}

/** 401 under /v1 without a valid key: one answer for missing, malformed, unknown and revoked keys. */
export const requireKey: RequestHandler = (req, _res, next) => {
  if (req.principal || !needsKey(req.path)) {
    next();
    return;
  }
  const presented = req.headers.authorization !== undefined;
  next(
    new HttpProblem(
      401,
      problemTypes.unauthorized,
      'Unauthorized',
      presented
        ? 'the API key is malformed, unknown or revoked'
        : 'an API key is required: send Authorization: Bearer <key>',
      undefined,
      { 'WWW-Authenticate': presented ? 'Bearer error="invalid_token"' : 'Bearer' },
    ),
  );
};

function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : '';
}
