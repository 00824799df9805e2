import { z } from 'zod';
import { isUuid } from '../../domain/ids';
import { priceRangeLabels, type PriceRangeLabel } from './buckets';

/**
 * The product search's query parameters: one zod schema, the single source of their validation
 * and of the `SearchParams` the query runs with, and the keyset cursor. Bad input is refused field
 * by field (the route turns the issues into a 400 problem naming `query.<field>`), including
 * parameters the search does not know: a misspelt `minrating` silently ignored would be worse.
 */

export const searchSorts = ['relevance', 'price_asc', 'price_desc', 'rating', 'best_selling'] as const;
export type SearchSort = (typeof searchSorts)[number];

export const SEARCH_LIMIT_DEFAULT = 20;
export const SEARCH_LIMIT_MAX = 100;
export const SEARCH_TEXT_MAX = 200;

/** Where a page ends: the sort's key values of its last hit and its id (the tie-break). */
export interface SearchCursor {
  sort: SearchSort;
  keys: number[];
  productId: string;
}

export interface SearchParams {
  q?: string;
  /** A category path or a prefix of one: 'home' matches 'home' and 'home/…'. */
  category?: string;
  seller?: string;
  priceRanges?: PriceRangeLabel[];
  minRating?: number;
  inStock?: boolean;
  /** The sort applied: `relevance` only with words to be relevant to, otherwise `best_selling`. */
  sort: SearchSort;
  limit: number;
  cursor?: SearchCursor;
}

/** How many key values each sort's cursor holds before the product id. */
const cursorKeyCount: Record<SearchSort, number> = {
  // The score (the text rank, or -1 past the ranked candidates), then sales (see read-models/product-search/search.ts).
  relevance: 2,
  price_asc: 1,
  price_desc: 1,
  rating: 2,
  best_selling: 1,
};

const INT4_MAX = 2_147_483_647;
const wholeIn = (max: number) => (k: number) => Number.isSafeInteger(k) && k >= 0 && k <= max;
/**
 * What each sort key can hold (the SQL casts them to real, bigint, numeric and int): a value out of
 * range is a tampered cursor, a 400, not a cast error in PostgreSQL.
 */
const cursorKeyFits: Record<SearchSort, ((k: number) => boolean)[]> = {
  relevance: [
    (k) => Number.isFinite(k) && Math.abs(k) <= 1e30,
    (k) => Number.isSafeInteger(k) && Math.abs(k) <= INT4_MAX,
  ],
  price_asc: [wholeIn(Number.MAX_SAFE_INTEGER)],
  price_desc: [wholeIn(Number.MAX_SAFE_INTEGER)],
  rating: [(k) => Number.isFinite(k) && k >= 0 && k <= 5, wholeIn(INT4_MAX)],
  best_selling: [(k) => Number.isSafeInteger(k) && Math.abs(k) <= INT4_MAX],
};

export function encodeCursor(cursor: SearchCursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, ...cursor.keys, cursor.productId])).toString('base64url');
}

/** The cursor, or undefined when it is not one this sort produced (tampered, truncated, another sort's). */
export function decodeCursor(text: string, sort: SearchSort): SearchCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(decoded) || decoded.length !== cursorKeyCount[sort] + 2 || decoded[0] !== sort) return undefined;
  const keys = decoded.slice(1, -1) as unknown[];
  const productId = decoded[decoded.length - 1] as unknown;
  if (!keys.every((k, i): k is number => typeof k === 'number' && cursorKeyFits[sort][i]!(k))) return undefined;
  if (typeof productId !== 'string' || !isUuid(productId)) return undefined;
  return { sort, keys, productId };
}

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be between ${min} and ${max}`).max(max, `must be between ${min} and ${max}`));

/** `priceRange=10-25,25-50` or the parameter repeated. */
const priceRangeList = z.union([z.string(), z.array(z.string())]).transform((value, ctx) => {
  const labels = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim());
  const unknown = labels.filter((label) => !(priceRangeLabels as string[]).includes(label));
  if (unknown.length > 0 || labels.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown price range ${unknown.map((u) => `'${u}'`).join(', ')}: must be one or more of ${priceRangeLabels.join(', ')}`,
    });
    return z.NEVER;
  }
  return [...new Set(labels)].sort() as PriceRangeLabel[];
});

const shape = {
  q: z.string().trim().max(SEARCH_TEXT_MAX, `must be at most ${SEARCH_TEXT_MAX} characters`).optional(),
  category: z
    .string()
    .trim()
    .max(500, 'must be at most 500 characters')
    .regex(/^[^/]+(\/[^/]+)*$/, "must be a category path such as 'home' or 'home/kitchen'")
    .optional(),
  seller: z.string().refine(isUuid, 'must be a UUID').optional(),
  priceRange: priceRangeList.optional(),
  minRating: z
    .string()
    .regex(/^\d(\.\d{1,2})?$/, 'must be a number from 1 to 5')
    .transform(Number)
    .pipe(z.number().min(1, 'must be a number from 1 to 5').max(5, 'must be a number from 1 to 5'))
    .optional(),
  inStock: z
    .enum(['true', 'false'], { error: "must be 'true' or 'false'" })
    .transform((v) => v === 'true')
    .optional(),
  sort: z.enum(searchSorts, { error: `must be one of ${searchSorts.join(', ')}` }).optional(),
  limit: wholeNumber(1, SEARCH_LIMIT_MAX).optional(),
  cursor: z.string().optional(),
};

export const searchQuerySchema = z
  .looseObject(shape)
  // Runs even when a known field is bad, so every bad parameter is named in one answer.
  .superRefine(
    (value, ctx) => {
      for (const key of Object.keys(value)) {
        if (!(key in shape)) ctx.addIssue({ code: 'custom', path: [key], message: 'is not a known parameter' });
      }
    },
    { when: () => true },
  )
  .transform((value, ctx): SearchParams => {
    const q = value.q === '' ? undefined : value.q;
    const sort: SearchSort =
      value.sort === undefined || (value.sort === 'relevance' && q === undefined)
        ? q === undefined
          ? 'best_selling'
          : 'relevance'
        : value.sort;
    let cursor: SearchCursor | undefined;
    if (value.cursor !== undefined) {
      cursor = decodeCursor(value.cursor, sort);
      if (!cursor) {
        ctx.addIssue({
          code: 'custom',
          path: ['cursor'],
          message: 'is not a cursor of this search (pass nextCursor as given)',
        });
        return z.NEVER;
      }
    }
    return {
      ...(q !== undefined ? { q } : {}),
      ...(value.category !== undefined ? { category: value.category } : {}),
      ...(value.seller !== undefined ? { seller: value.seller.toLowerCase() } : {}),
      ...(value.priceRange !== undefined ? { priceRanges: value.priceRange } : {}),
      ...(value.minRating !== undefined ? { minRating: value.minRating } : {}),
      ...(value.inStock !== undefined ? { inStock: value.inStock } : {}),
      sort,
      limit: value.limit ?? SEARCH_LIMIT_DEFAULT,
      ...(cursor ? { cursor } : {}),
    };
  });

/**
 * The read cache's key for a search: the parameters as the query understood them, in a fixed
 * order, so `?a=1&b=2` and `?b=2&a=1` (or `priceRange=a,b` and `priceRange=b,a`) share an entry.
 */
export function searchCacheKey(params: SearchParams): string {
  return JSON.stringify([
    params.q ?? null,
    params.category ?? null,
    params.seller ?? null,
    params.priceRanges ?? null,
    params.minRating ?? null,
    params.inStock ?? null,
    params.sort,
    params.limit,
    params.cursor ? encodeCursor(params.cursor) : null,
  ]);
}
