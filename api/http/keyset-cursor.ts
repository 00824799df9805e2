import { HttpProblem, problemTypes } from './problem';

/**
 * Opaque cursors for keyset pagination: the sort key of the last item of a page, as base64url
 * JSON. Opaque so clients do not build them; checked on the way back in, so a tampered or foreign
 * cursor is a 400 naming `query.cursor`, never a 500 or a silently wrong page.
 */

export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, isValid: (value: unknown) => value is T): T | undefined {
  if (cursor === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isValid(value)) {
    throw new HttpProblem(400, problemTypes.validation, 'Request validation failed', 'query.cursor is invalid', [
      { field: 'query.cursor', message: 'must be the nextCursor of a previous page, unchanged' },
    ]);
  }
  return value;
}
