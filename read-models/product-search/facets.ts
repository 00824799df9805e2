import { priceRangeLabels, ratingBuckets } from './buckets';
import { qualifiedTable } from '../projections/projection';

/**
 * The product search's facets: the SQL that counts them (a CTE of the search statement in
 * read-models/product-search/search.ts) and the shaping of its rows into the answer.
 */

const FACET_COUNTS = qualifiedTable('product_search_facet_counts');
const SELLER_COUNTS = qualifiedTable('product_search_seller_counts');
const TERM_FACETS = qualifiedTable('product_search_term_facets');

export const SELLER_FACET_MAX = 20;

export interface FacetCount {
  value: string;
  count: number;
}

/** Counts over every hit of the search (not only the page), with all its filters applied. */
export interface SearchFacets {
  /** By full category path ('home/kitchen'); a filter on 'home' counts each of its paths. */
  category: FacetCount[];
  priceRange: FacetCount[];
  rating: FacetCount[];
  /** The sellers with the most hits, at most SELLER_FACET_MAX. */
  seller: (FacetCount & { name: string })[];
  inStock: FacetCount[];
}

/** Facets counted over the rows of `rows` (a CTE of the search statement: the matches it counts). */
export const countedFacets = (rows: string) => `
  -- One name per seller; max() in the "C" collation compares bytes, not locale rules (far cheaper).
  SELECT GROUPING(v.seller_id) = 0 AS seller_set, GROUPING(v.seller_id, v.category_path) = 3 AS total_set,
    v.category_path, v.price_range, v.rating_bucket, v.in_stock, v.seller_id::text AS seller_id,
    CASE WHEN GROUPING(v.seller_id) = 0 THEN max(v.seller_name COLLATE "C") END AS seller_name,
    count(*)::int AS count
  FROM ${rows} v
  GROUP BY GROUPING SETS ((v.category_path, v.price_range, v.rating_bucket, v.in_stock), (v.seller_id), ())`;

/** The active products of the catalogue, from the catalogue-wide counts. */
export const catalogueSize = `SELECT COALESCE(sum(c.products), 0)::int FROM ${FACET_COUNTS} c`;

/** Facets summed from the counts the projection keeps (browsing everything or a category). */
export function summaryFacets(categoryCondition: string | undefined): string {
  const where = categoryCondition ? `AND ${categoryCondition}` : '';
  return `
  SELECT false AS seller_set, false AS total_set, v.category_path, v.price_range, v.rating_bucket, v.in_stock,
    NULL::text AS seller_id, NULL::text AS seller_name, v.products AS count
  FROM ${FACET_COUNTS} v WHERE v.products > 0 ${where}
  UNION ALL
  SELECT true, false, NULL, NULL, NULL, NULL, v.seller_id::text, max(v.seller_name COLLATE "C"), sum(v.products)::int
  FROM ${SELLER_COUNTS} v WHERE v.products > 0 ${where} GROUP BY v.seller_id
  UNION ALL
  SELECT false, true, NULL, NULL, NULL, NULL, NULL, NULL, COALESCE(sum(v.products), 0)::int
  FROM ${FACET_COUNTS} v WHERE v.products > 0 ${where}`;
}

/**
 * The rows of `combinations` (countedFacets' or summaryFacets') summed per facet value in SQL, and
 * only the sellers shown: a few dozen rows to encode and parse instead of every combination and
 * every seller (a thousand or more on a large catalogue). Each row counts one facet, the other
 * facets' columns null, as termFacets' rows do. The sellers' order is facetCounts' own.
 */
export function compactFacets(combinations: string): string {
  return `
  SELECT false AS seller_set, false AS total_set, c.category_path, c.price_range, c.rating_bucket, c.in_stock,
    NULL::text AS seller_id, NULL::text AS seller_name, sum(c.count)::int AS count
  FROM ${combinations} c WHERE NOT c.seller_set AND NOT c.total_set
  GROUP BY GROUPING SETS ((c.category_path), (c.price_range), (c.rating_bucket), (c.in_stock))
  UNION ALL
  (SELECT true, false, NULL, NULL, NULL, NULL, c.seller_id, c.seller_name, c.count
   FROM ${combinations} c WHERE c.seller_set ORDER BY c.count DESC, c.seller_id COLLATE "C" LIMIT ${SELLER_FACET_MAX})
  UNION ALL
  SELECT false, true, NULL, NULL, NULL, NULL, NULL, NULL, c.count FROM ${combinations} c WHERE c.total_set`;
}

/**
 * Facets of a search for one word without filters, read from the counts the projection keeps per
 * lexeme: one row per value of each facet (the other facets' columns null), the sellers with
 * the most hits, and the total (the word's in-stock and out-of-stock products). `lexeme` is the
 * SQL of the word's lexeme.
 */
export function termFacets(lexeme: string): string {
  const row = (facet: string, column: string, value: string) =>
    `CASE WHEN f.facet = '${facet}' THEN ${value} END AS ${column}`;
  return `
  SELECT false AS seller_set, false AS total_set, ${row('category', 'category_path', 'f.value')},
    ${row('price_range', 'price_range', 'f.value')}, ${row('rating', 'rating_bucket', 'f.value')},
    ${row('in_stock', 'in_stock', 'f.value::boolean')}, NULL::text AS seller_id, NULL::text AS seller_name,
    f.products AS count
  FROM ${TERM_FACETS} f WHERE f.lexeme = ${lexeme} AND f.facet <> 'seller' AND f.products > 0
  UNION ALL
  (SELECT true, false, NULL, NULL, NULL, NULL, f.value, f.label, f.products
   FROM ${TERM_FACETS} f WHERE f.lexeme = ${lexeme} AND f.facet = 'seller' AND f.products > 0
   ORDER BY f.products DESC, f.value COLLATE "C" LIMIT ${SELLER_FACET_MAX})
  UNION ALL
  SELECT false, true, NULL, NULL, NULL, NULL, NULL, NULL, COALESCE(sum(f.products), 0)::int
  FROM ${TERM_FACETS} f WHERE f.lexeme = ${lexeme} AND f.facet = 'in_stock'`;
}

/**
 * One row per (category, price range, rating bucket, in stock) combination present, one per seller,
 * and the total. The four small facets are summed from the combinations here rather than grouped by
 * PostgreSQL one set each: two hash keys per row instead of five, the costliest part of the query.
 */
export interface FacetRow {
  seller_set: boolean;
  total_set: boolean;
  category_path: string | null;
  price_range: string | null;
  rating_bucket: string | null;
  in_stock: boolean | null;
  seller_id: string | null;
  seller_name: string | null;
  count: number;
}

export function facetCounts(rows: FacetRow[]): { total: number; facets: SearchFacets } {
  const combinations = rows.filter((r) => !r.seller_set && !r.total_set);
  // A value of null: the row counts another facet (the per-word counts give one facet per row).
  const sumBy = (value: (row: FacetRow) => string | null) => {
    const counts = new Map<string, number>();
    for (const row of combinations) {
      const key = value(row);
      if (key !== null) counts.set(key, (counts.get(key) ?? 0) + row.count);
    }
    return counts;
  };
  const byCount = (a: FacetCount, b: FacetCount) => b.count - a.count || (a.value < b.value ? -1 : 1);
  // Fixed buckets are all listed, empty ones with 0, in their natural order.
  const buckets = (counts: Map<string, number>, labels: readonly string[]) =>
    labels.map((value) => ({ value, count: counts.get(value) ?? 0 }));
  return {
    total: rows.find((r) => r.total_set)?.count ?? 0,
    facets: {
      category: [...sumBy((r) => r.category_path)].map(([value, count]) => ({ value, count })).sort(byCount),
      priceRange: buckets(
        sumBy((r) => r.price_range),
        priceRangeLabels,
      ),
      rating: buckets(
        sumBy((r) => r.rating_bucket),
        ratingBuckets,
      ),
      seller: rows
        .filter((r) => r.seller_set)
        .map((r) => ({ value: r.seller_id ?? '', name: r.seller_name ?? '', count: r.count }))
        .sort(byCount)
        .slice(0, SELLER_FACET_MAX),
      inStock: buckets(
        sumBy((r) => (r.in_stock === null ? null : String(r.in_stock))),
        ['true', 'false'],
      ),
    },
  };
}
