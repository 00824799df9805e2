import { seedCatalogue } from '../../catalogue/seed';
import { createDatabase, type Database } from '../../platform/database';
import { updateProduct } from '../../catalogue/product-store';
import { RANKED_CANDIDATES, searchProducts, type SearchResult } from '../../read-models/product-search/search';
import { searchQuerySchema } from '../../read-models/product-search/params';
import { productSearchProjection } from '../../read-models/projections/product-search';
import { catchUp } from '../../read-models/projections/runner';
import { createOutboxDatabase, type OutboxDatabase } from '../support/outbox';

/**
 * The search where a word has more matches than the relevance sort ranks (RANKED_CANDIDATES):
 * a seeded catalogue of a few thousand products, where each top-level category word ('home')
 * matches about a fifth of them. One-word searches take their facets from the per-word counts the
 * projection keeps; they must equal counting the matching rows, also after products change.
 */

let database: OutboxDatabase;
let db: Database;

function search(query: Record<string, string>): Promise<SearchResult> {
  return searchProducts(db, searchQuerySchema.parse(query));
}

async function project(): Promise<void> {
  await catchUp({ db, projection: productSearchProjection, batchSize: 1_000 });
}

/** The facets by counting the rows that match, as a search with filters does. */
async function countedFacets(word: string) {
  const rows = await db.$queryRawUnsafe<{ facet: string; value: string; count: number }[]>(
    `SELECT f.facet, f.value, count(*)::int AS count
     FROM read_models.product_search_view v
     CROSS JOIN LATERAL (VALUES ('category', v.category_path::text), ('price_range', v.price_range::text),
       ('rating', v.rating_bucket::text), ('in_stock', v.in_stock::text), ('seller', v.seller_id::text)) AS f(facet, value)
     WHERE v.active AND v.search_vector @@ websearch_to_tsquery('english', $1)
     GROUP BY f.facet, f.value`,
    word,
  );
  const of = (facet: string) =>
    new Map(rows.filter((r) => r.facet === facet).map((r) => [r.value, r.count] as [string, number]));
  return { of, total: [...of('in_stock').values()].reduce((a, b) => a + b, 0) };
}

async function expectFacetsCounted(word: string): Promise<void> {
  const result = await search({ q: word });
  const counted = await countedFacets(word);
  const nonZero = (facet: { value: string; count: number }[]) =>
    new Map(facet.filter((f) => f.count > 0).map((f) => [f.value, f.count]));
  expect(result.total).toBe(counted.total);
  expect(nonZero(result.facets.category)).toEqual(counted.of('category'));
  expect(nonZero(result.facets.priceRange)).toEqual(counted.of('price_range'));
  expect(nonZero(result.facets.rating)).toEqual(counted.of('rating'));
  expect(nonZero(result.facets.inStock)).toEqual(counted.of('in_stock'));
  for (const seller of result.facets.seller) expect(seller.count).toBe(counted.of('seller').get(seller.value));
  expect(result.facets.seller.length).toBe(Math.min(20, counted.of('seller').size));
}

beforeAll(async () => {
  database = await createOutboxDatabase('search_scale');
  db = createDatabase({ database: { url: database.url, poolSize: 4 } });
  await seedCatalogue(db, { sellers: 30, products: 3_000, customers: 0, maxStock: 3, currency: 'EUR', seed: 21 });
  await project();
}, 120_000);

afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe('a word with more matches than the relevance sort ranks', () => {
  it('pages through every match: the ranked candidates by their text first, then the rest by popularity', async () => {
    const first = await search({ q: 'home', limit: '100' });
    expect(first.total).toBeGreaterThan(RANKED_CANDIDATES);
    const seen: SearchResult['hits'] = [];
    const scores: number[] = [];
    let cursor: string | null = null;
    do {
      const page: SearchResult = await search({ q: 'home', limit: '100', ...(cursor ? { cursor } : {}) });
      seen.push(...page.hits);
      cursor = page.nextCursor;
      // The cursor carries the last hit's score: the text rank, or -1 past the candidates.
      if (cursor) scores.push((JSON.parse(Buffer.from(cursor, 'base64url').toString()) as number[])[1]!);
    } while (cursor);
    expect(new Set(seen.map((h) => h.productId)).size).toBe(first.total);
    expect(scores.filter((s) => s >= 0).length).toBe(RANKED_CANDIDATES / 100);
    expect(scores.filter((s) => s < 0).length).toBeGreaterThan(0);
    // Past the candidates: by sales, then id, both descending.
    const rest = seen.slice(RANKED_CANDIDATES);
    const order = rest.map((h) => [h.salesCount, h.productId] as const);
    const sorted = [...order].sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? 1 : -1));
    expect(order).toEqual(sorted);
  });

  it('ranks a candidate named with the word above those that have it only in their category', async () => {
    // Sales are all 0 here, so the candidates are the matches with the highest ids: this one is.
    const [named] = await db.$queryRawUnsafe<{ id: string }[]>(
      `SELECT product_id::text AS id FROM read_models.product_search_view
       WHERE active AND category_path NOT LIKE 'home%' ORDER BY product_id DESC LIMIT 1`,
    );
    await updateProduct(db, named!.id, { name: 'Home Office Lamp' });
    await project();
    const [candidate] = await db.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM (SELECT product_id FROM read_models.product_search_view
        WHERE active AND search_vector @@ 'home'::tsquery ORDER BY sales_count DESC, product_id DESC LIMIT $1) c
       WHERE product_id = $2::uuid`,
      RANKED_CANDIDATES,
      named!.id,
    );
    expect(candidate!.n).toBe(1);
    const { hits } = await search({ q: 'home', limit: '5' });
    expect(hits[0]!.productId).toBe(named!.id);
    expect(hits[0]!.highlight!.name).toBe('<mark>Home</mark> Office Lamp');
  });
});

describe('one-word facets from the per-word counts', () => {
  it('equal counting the matching rows, for a category word, a name word and a description word', async () => {
    for (const word of ['home', 'chair', 'chairs', 'comfortable', 'xylophone']) await expectFacetsCounted(word);
  });

  it('follow product changes: price, name, category and deactivation', async () => {
    const ids = (
      await db.$queryRawUnsafe<{ id: string }[]>(
        `SELECT product_id::text AS id FROM read_models.product_search_view
         WHERE search_vector @@ 'chair'::tsquery ORDER BY product_id LIMIT 3`,
      )
    ).map((r) => r.id);
    await updateProduct(db, ids[0]!, { priceMinor: 99_999 });
    await updateProduct(db, ids[1]!, { name: 'Plain Stool', categoryPath: 'sports/camping' });
    await updateProduct(db, ids[2]!, { active: false });
    await project();
    for (const word of ['chair', 'stool', 'camping', 'home']) await expectFacetsCounted(word);
  });

  it('agree with the counted facets of the same word under a filter that keeps every match', async () => {
    const plain = await search({ q: 'chair' });
    // A price range filter of every range is no restriction, but it counts over the rows.
    const filtered = await search({
      q: 'chair',
      priceRange: 'under-10,10-25,25-50,50-100,100-250,250-plus',
    });
    expect(filtered.total).toBe(plain.total);
    expect(filtered.facets).toEqual(plain.facets);
  });
});
