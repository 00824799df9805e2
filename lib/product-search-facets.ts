import { priceRangeLabels, ratingBuckets } from './product-search-buckets';
import { qualifiedTable } from './projections/projection';

/**
 * The product search's facets: the SQL that counts them (a CTE of the search statement in
 * lib/product-search.ts) and the shaping of its rows into the answer.
 */

const FACET_COUNTS = qualifiedTable('product_search_facet_counts');
const SELLER_COUNTS = qualifiedTable('product_search_seller_counts');

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

/** Facets counted over the filtered rows (the search statement's CTE `matched`). */
export const countedFacets = `
  -- One name per seller; max() in the "C" collation compares bytes, not locale rules (far cheaper).
  SELECT GROUPING(v.seller_id) = 0 AS seller_set, GROUPING(v.seller_id, v.category_path) = 3 AS total_set,
    v.category_path, v.price_range, v.rating_bucket, v.in_stock, v.seller_id::text AS seller_id,
    CASE WHEN GROUPING(v.seller_id) = 0 THEN max(v.seller_name COLLATE "C") END AS seller_name,
    count(*)::int AS count
  FROM matched v
  GROUP BY GROUPING SETS ((v.category_path, v.price_range, v.rating_bucket, v.in_stock), (v.seller_id), ())`;

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
  const sumBy = (value: (row: FacetRow) => string) => {
    const counts = new Map<string, number>();
    for (const row of combinations) counts.set(value(row), (counts.get(value(row)) ?? 0) + row.count);
    return counts;
  };
  const byCount = (a: FacetCount, b: FacetCount) => b.count - a.count || (a.value < b.value ? -1 : 1);
  // Fixed buckets are all listed, empty ones with 0, in their natural order.
  const buckets = (counts: Map<string, number>, labels: readonly string[]) =>
    labels.map((value) => ({ value, count: counts.get(value) ?? 0 }));
  return {
    total: rows.find((r) => r.total_set)?.count ?? 0,
    facets: {
      category: [...sumBy((r) => r.category_path ?? '')].map(([value, count]) => ({ value, count })).sort(byCount),
      priceRange: buckets(
        sumBy((r) => r.price_range ?? ''),
        priceRangeLabels,
      ),
      rating: buckets(
        sumBy((r) => r.rating_bucket ?? ''),
        ratingBuckets,
      ),
      seller: rows
        .filter((r) => r.seller_set)
        .map((r) => ({ value: r.seller_id ?? '', name: r.seller_name ?? '', count: r.count }))
        .sort(byCount)
        .slice(0, SELLER_FACET_MAX),
      inStock: buckets(
        sumBy((r) => String(r.in_stock)),
        ['true', 'false'],
      ),
    },
  };
}
