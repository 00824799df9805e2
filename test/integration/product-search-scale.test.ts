import { seedCatalogue } from '../../catalogue/seed';
import { createDatabase, type Database } from '../../platform/database';
import { updateProduct } from '../../catalogue/product-store';
import {
  RANKED_CANDIDATES,
  searchProducts,
  type SearchOptions,
  type SearchResult,
} from '../../read-models/product-search/search';
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

function search(query: Record<string, string>, options?: SearchOptions): Promise<SearchResult> {
  return searchProducts(db, searchQuerySchema.parse(query), options);
}

/** Every page of a search, followed by its cursors: the hits in order and the score each page ended on. */
async function allPages(query: Record<string, string>, options?: SearchOptions) {
  const hits: SearchResult['hits'] = [];
  const scores: number[] = [];
  let cursor: string | null = null;
  do {
    const page: SearchResult = await search({ ...query, ...(cursor ? { cursor } : {}) }, options);
    hits.push(...page.hits);
    cursor = page.nextCursor;
    // The cursor carries the last hit's score: the text rank, or -1 past the candidates.
    if (cursor) scores.push((JSON.parse(Buffer.from(cursor, 'base64url').toString()) as number[])[1]!);
  } while (cursor);
  return { hits, scores };
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
    const { hits: seen, scores } = await allPages({ q: 'home', limit: '100' });
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

describe('a search that matches more than it counts', () => {
  // No restriction, but a filter: the search counts its matches instead of reading per-word counts.
  const query = { q: 'home', priceRange: 'under-10,10-25,25-50,50-100,100-250,250-plus' };
  const bound: SearchOptions = { countedMatchesMax: 50 };
  const sum = (facet: { count: number }[]) => facet.reduce((n, f) => n + f.count, 0);

  it('counts every match up to the bound and says the total and the facets are exact', async () => {
    const result = await search(query);
    expect(result).toMatchObject({ total: (await countedFacets('home')).total, totalRelation: 'eq' });
    expect(result.facetsExhaustive).toBe(true);
  });

  it('past the bound, gives the bound as a lower bound and facets counted over that many matches', async () => {
    const result = await search(query, bound);
    expect(result).toMatchObject({ total: 50, totalRelation: 'gte', facetsExhaustive: false });
    for (const facet of [result.facets.category, result.facets.priceRange, result.facets.rating, result.facets.inStock])
      expect(sum(facet)).toBe(50);
  });

  it('still pages through every match: the best sellers of the counted matches ranked first, then the rest', async () => {
    const total = (await countedFacets('home')).total;
    expect(total).toBeGreaterThan(3 * 50);
    for (const limit of ['100', '7']) {
      const { hits, scores } = await allPages({ ...query, limit }, bound);
      expect(hits.length).toBe(total);
      expect(new Set(hits.map((h) => h.productId)).size).toBe(total);
      // Pages that end among the 50 candidates carry a text rank, every later one -1.
      expect(scores.filter((s) => s >= 0).length).toBe(Math.floor(50 / Number(limit)));
      expect(scores.filter((s) => s < 0).length).toBeGreaterThan(0);
      // Past the candidates (the 50 counted ones here): by sales, then id, both descending.
      const rest = hits.slice(50).map((h) => [h.salesCount, h.productId] as const);
      expect(rest).toEqual([...rest].sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? 1 : -1)));
    }
  });

  it('pages through every match of a sort other than relevance, whatever the bound', async () => {
    const { hits } = await allPages({ ...query, sort: 'price_asc', limit: '100' }, bound);
    expect(new Set(hits.map((h) => h.productId)).size).toBe((await countedFacets('home')).total);
  });
});
