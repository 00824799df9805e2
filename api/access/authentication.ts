import type { Request, RequestHandler } from 'express';
import type { ApiKeyAuthenticator } from '../../access/api-keys';
import type { Principal } from './principal';

declare module 'express-serve-static-core' {
  interface Request {
    /** A key not in the process's key cache, to be looked up once the IP's rate limit allowed it. */
    keyToLookUp?: string;
  }
}
import { HttpProblem, problemTypes } from '../http/problem';

/**
 * Everything under /v1 needs a key. The rest is public: health probes for load balancers, the
 * API's contract (/openapi.json, /docs), and 404s for unknown paths.
 */
// Case-insensitive, as express routes match: /V1/Orders reaches the same handlers.
export const needsKey = (path: string): boolean => /^\/v1(\/|$)/i.test(path);

/**
 * Reads `Authorization: Bearer <key>` and sets `req.principal` for a key the process knows to be
 * valid (its key cache: no query). A key it has not checked lately is left in `req.keyToLookUp`
 * for `lookUpKey`, which runs after the IP's rate limit (api/access/rate-limit.ts, beforeKeyLookup):
 * a made-up key is then looked up only while its IP has tokens. It rejects nothing itself:
 * `requireKey` refuses what needs a key.
 */
export function identifyCaller(authenticator: ApiKeyAuthenticator): RequestHandler {
  return (req, _res, next) => {
    // Public paths never look a key up: a flood of made-up keys there costs no query.
    const key = needsKey(req.path) ? bearerToken(req.headers.authorization) : undefined;
    if (key !== undefined) {
      const known = authenticator.known(key);
      if (known === undefined) req.keyToLookUp = key;
      else if (known !== null) identify(req, known);
    }
    next();
  };
}

/** Looks up the key identifyCaller left (one query, then cached), and identifies the caller by it. */
export function lookUpKey(authenticator: ApiKeyAuthenticator): RequestHandler {
  return async (req, _res, next) => {
    if (req.keyToLookUp === undefined) {
      next();
      return;
    }
    const principal = await authenticator.authenticate(req.keyToLookUp);
    req.keyToLookUp = undefined;
    if (principal) identify(req, principal);
    next();
  };
}

function identify(req: Request, principal: Principal): void {
  req.principal = principal;
  // Every later log line of this request names the key (never the key itself).
  req.log = req.log?.child({ keyId: principal.keyId, role: principal.role });
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
