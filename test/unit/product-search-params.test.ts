import { averageRating, priceRangeOf, ratingBucketOf } from '../../read-models/product-search/buckets';
import { decodeCursor, encodeCursor, searchCacheKey, searchQuerySchema } from '../../read-models/product-search/params';

const productId = '6f1c2a9e-4b7d-4c1e-9a3b-2d5e8f0a1b2c';

function problems(query: Record<string, unknown>): Record<string, string> {
  const parsed = searchQuerySchema.safeParse(query);
  if (parsed.success) throw new Error(`expected ${JSON.stringify(query)} to be refused`);
  return Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.'), i.message]));
}

describe('product search parameters', () => {
  it('defaults to relevance with words, best selling without, 20 hits a page', () => {
    expect(searchQuerySchema.parse({ q: ' chair ' })).toEqual({ q: 'chair', sort: 'relevance', limit: 20 });
    expect(searchQuerySchema.parse({})).toEqual({ sort: 'best_selling', limit: 20 });
    // Relevance to nothing is no order at all: it browses best sellers first.
    expect(searchQuerySchema.parse({ sort: 'relevance' }).sort).toBe('best_selling');
  });

  it('reads every filter in its own type', () => {
    expect(
      searchQuerySchema.parse({
        q: 'lamp',
        category: 'home/lighting',
        seller: productId.toUpperCase(),
        priceRange: ['25-50,10-25', '10-25'],
        minRating: '3.5',
        inStock: 'false',
        sort: 'price_desc',
        limit: '100',
      }),
    ).toEqual({
      q: 'lamp',
      category: 'home/lighting',
      seller: productId,
      priceRanges: ['10-25', '25-50'],
      minRating: 3.5,
      inStock: false,
      sort: 'price_desc',
      limit: 100,
    });
  });

  it('names every bad parameter at once, unknown ones included', () => {
    expect(
      problems({
        sort: 'cheapest',
        limit: '0',
        minRating: '6',
        seller: 'acme',
        priceRange: 'cheap',
        inStock: 'yes',
        colour: 'red',
      }),
    ).toEqual({
      sort: expect.stringContaining('must be one of relevance, price_asc'),
      limit: 'must be between 1 and 100',
      minRating: 'must be a number from 1 to 5',
      seller: 'must be a UUID',
      priceRange: expect.stringContaining("unknown price range 'cheap'"),
      inStock: "must be 'true' or 'false'",
      colour: 'is not a known parameter',
    });
    expect(problems({ limit: '101' })).toEqual({ limit: 'must be between 1 and 100' });
    expect(problems({ category: 'home//kitchen' })).toEqual({ category: expect.stringContaining('category path') });
    expect(problems({ q: ['a', 'b'] })).toHaveProperty('q');
  });

  it('round-trips its cursor and refuses a tampered one, or one of another sort', () => {
    const cursor = { sort: 'rating' as const, keys: [4.5, 12], productId };
    const text = encodeCursor(cursor);
    expect(decodeCursor(text, 'rating')).toEqual(cursor);
    expect(searchQuerySchema.parse({ sort: 'rating', cursor: text }).cursor).toEqual(cursor);

    expect(decodeCursor(text, 'price_asc')).toBeUndefined();
    expect(decodeCursor(`${text.slice(0, -3)}x`, 'rating')).toBeUndefined();
    const forged = Buffer.from(JSON.stringify(['rating', 4.5, 'DROP TABLE', productId])).toString('base64url');
    expect(decodeCursor(forged, 'rating')).toBeUndefined();
    // Keys that would not fit the SQL casts (bigint, int, numeric): tampered, not a database error.
    const keysOf = (sort: string, ...keys: number[]) =>
      Buffer.from(JSON.stringify([sort, ...keys, productId])).toString('base64url');
    expect(decodeCursor(keysOf('price_asc', 1e300), 'price_asc')).toBeUndefined();
    expect(decodeCursor(keysOf('price_asc', 12.5), 'price_asc')).toBeUndefined();
    expect(decodeCursor(keysOf('best_selling', 3e9), 'best_selling')).toBeUndefined();
    expect(decodeCursor(keysOf('rating', 6, 1), 'rating')).toBeUndefined();
    expect(decodeCursor(keysOf('price_desc', 1_999), 'price_desc')).toEqual({
      sort: 'price_desc',
      keys: [1_999],
      productId,
    });
    expect(problems({ sort: 'rating', cursor: 'not a cursor!' })).toEqual({
      cursor: expect.stringContaining('is not a cursor of this search'),
    });
  });

  it('gives one cache key to the same search however it was spelled', () => {
    const a = searchQuerySchema.parse({ q: 'chair', priceRange: '10-25,25-50', inStock: 'true' });
    const b = searchQuerySchema.parse({ inStock: 'true', priceRange: ['25-50', '10-25'], q: 'chair' });
    expect(searchCacheKey(a)).toBe(searchCacheKey(b));
    expect(searchCacheKey(a)).not.toBe(searchCacheKey(searchQuerySchema.parse({ q: 'chair' })));
  });
});

describe('product search buckets', () => {
  it('puts prices into ranges by whole units of their currency', () => {
    expect(priceRangeOf(999, 'EUR')).toBe('under-10');
    expect(priceRangeOf(1000, 'EUR')).toBe('10-25');
    expect(priceRangeOf(24_999, 'EUR')).toBe('100-250');
    expect(priceRangeOf(25_000, 'EUR')).toBe('250-plus');
    expect(priceRangeOf(999, 'JPY')).toBe('250-plus');
  });

  it('averages ratings to two decimals, and buckets them disjointly', () => {
    expect(averageRating(0, 0)).toBeNull();
    expect(averageRating(13, 3)).toBe(4.33);
    expect(ratingBucketOf(null)).toBe('unrated');
    expect(ratingBucketOf(4)).toBe('4-5');
    expect(ratingBucketOf(3.99)).toBe('3-4');
    expect(ratingBucketOf(1)).toBe('1-2');
  });
});
