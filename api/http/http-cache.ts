import type { Request, Response } from 'express';
import type { CacheEntry } from '../../read-models/cache';

/**
 * Sends a read-cache entry with its ETag. Clients may keep it but must revalidate each time
 * (`no-cache`), and only for themselves (`private`: reads depend on who asks); a matching
 * If-None-Match gets 304 without a body.
 */
export function sendEntry(req: Request, res: Response, entry: CacheEntry): void {
  res.setHeader('ETag', entry.etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  const conditional = req.method === 'GET' || req.method === 'HEAD';
  if (conditional && ifNoneMatchMatches(req.headers['if-none-match'], entry.etag)) {
    res.status(304).end();
    return;
  }
  res.status(200).type('application/json').send(entry.body);
}

const ENTITY_TAG = /(W\/)?"([^"]*)"/g;

/**
 * RFC 9110 13.1.2: `*` matches any current representation; otherwise a list of entity tags,
 * compared weakly (W/"x" matches "x"). Anything unparsable matches nothing.
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const current = opaqueTag(etag);
  for (const match of header.matchAll(ENTITY_TAG)) if (match[2] === current) return true;
  return false;
}

function opaqueTag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}
