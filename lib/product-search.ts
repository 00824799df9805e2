import { formatMoney, money } from '../domain/money';
import type { Database } from './database';
import { countedFacets, facetCounts, summaryFacets, type FacetRow, type SearchFacets } from './product-search-facets';
import { encodeCursor, type SearchCursor, type SearchParams, type SearchSort } from './product-search-params';
import { correctQuery, type Correction } from './product-search-spelling';
import { qualifiedTable } from './projections/projection';

/**
 * The product search: full text over read_models.product_search_view (weighted tsvector, GIN),
 * typo tolerant (lib/product-search-spelling.ts), filtered, sorted with a keyset cursor, with facet
 * counts over the filtered set. Reads the read model only, never the write model.
 *
 * One statement (runSearch) answers the page, with its highlighted snippets, and the facets: one
 * GROUPING SETS pass over the filtered set, which also gives the total, or, when browsing without
 * words (everything, or a category), sums of the facet counts the projection keeps, since
 * aggregating 100,000 rows alone takes longer than the whole search may. Snippets are
 * made for the returned page only: ts_headline re-parses the text and is the costliest function here.
 *
 * Highlighting is HTML-safe: the name and description are HTML-escaped in SQL first and
 * ts_headline then marks words with <mark></mark>. The parser keeps entities such as `&lt;` as
 * single tokens, so the escaping survives and the only markup in a snippet is ours.
 */

type Reader = Pick<Database, '$queryRawUnsafe'>;

const VIEW = qualifiedTable('product_search_view');
const WORDS = qualifiedTable('product_search_words');

/** Weights for D, C, B, A (ts_rank_cd's order): a name match counts five times a description match. */
const RANK = `ts_rank_cd('{0.1, 0.2, 0.5, 1.0}', v.search_vector, websearch_to_tsquery('english', $1))`;

export interface SearchHit {
  productId: string;
  sellerId: string;
  sellerName: string;
  sku: string;
  name: string;
  category: string;
  categoryPath: string;
  price: { minor: number; currency: string; formatted: string };
  priceRange: string;
  averageRating: number | null;
  reviewCount: number;
  ratingBucket: string;
  salesCount: number;
  inStock: boolean;
  /** HTML: escaped text with the matched words in <mark></mark>; null without search words. */
  highlight: { name: string; description: string } | null;
}

export interface SearchResult {
  /** What the words were searched as, when some were corrected; null otherwise. */
  correctedQuery: string | null;
  corrections: Correction[];
  sort: SearchSort;
  total: number;
  hits: SearchHit[];
  facets: SearchFacets;
  nextCursor: string | null;
}

/** The keys of each sort, all in one direction so that a keyset is one row comparison. */
const sortKeys: Record<SearchSort, { keys: string[]; direction: 'ASC' | 'DESC'; casts: string[] }> = {
  relevance: { keys: ['rank'], direction: 'DESC', casts: ['real'] },
  price_asc: { keys: ['v.price_minor'], direction: 'ASC', casts: ['bigint'] },
  price_desc: { keys: ['v.price_minor'], direction: 'DESC', casts: ['bigint'] },
  rating: { keys: ['COALESCE(v.average_rating, 0)', 'v.review_count'], direction: 'DESC', casts: ['numeric', 'int'] },
  best_selling: { keys: ['v.sales_count'], direction: 'DESC', casts: ['int'] },
};

interface Filter {
  conditions: string[];
  args: unknown[];
  /** Only words-free category browsing (or none) can count facets from the summary tables. */
  summarizable: boolean;
  /** The category condition alone, for the summary tables (which have the column under the same alias). */
  categoryCondition?: string;
}

export async function searchProducts(db: Reader, params: SearchParams): Promise<SearchResult> {
  const corrected = params.q !== undefined ? await correctQuery(db, params.q, WORDS) : undefined;
  // Only stop words ("the"): nothing to match on, so it browses.
  const text = corrected?.searchable ? corrected.text : undefined;
  const sort: SearchSort = params.sort === 'relevance' && text === undefined ? 'best_selling' : params.sort;
  const filter = filterOf(params, text);
  const { hits, facets } = await runSearch(db, filter, sort, params.limit, params.cursor, text !== undefined);
  const more = hits.length > params.limit;
  const shown = more ? hits.slice(0, params.limit) : hits;
  const last = shown[shown.length - 1];
  const counted = facetCounts(facets);
  return {
    correctedQuery: corrected && corrected.corrections.length > 0 ? corrected.text : null,
    corrections: corrected?.corrections ?? [],
    sort,
    total: counted.total,
    hits: shown.map(hitOf),
    facets: counted.facets,
    nextCursor: more && last ? encodeCursor({ sort, keys: last.keys, productId: last.product_id }) : null,
  };
}

/** With search words, `$1` is their text, so RANK, the match and the snippets can name it. */
function filterOf(params: SearchParams, text: string | undefined): Filter {
  const args: unknown[] = text !== undefined ? [text] : [];
  const conditions = ['v.active'];
  const arg = (value: unknown) => `$${args.push(value)}`;
  if (text !== undefined) conditions.push(`v.search_vector @@ websearch_to_tsquery('english', $1)`);
  let categoryCondition: string | undefined;
  if (params.category !== undefined) {
    categoryCondition = `(v.category_path = ${arg(params.category)} OR v.category_path LIKE ${arg(`${escapeLike(params.category)}/%`)})`;
    conditions.push(categoryCondition);
  }
  if (params.seller !== undefined) conditions.push(`v.seller_id = ${arg(params.seller)}::uuid`);
  if (params.priceRanges !== undefined) conditions.push(`v.price_range = ANY(${arg(params.priceRanges)}::text[])`);
  if (params.minRating !== undefined) conditions.push(`v.average_rating >= ${arg(params.minRating)}::numeric`);
  if (params.inStock !== undefined) conditions.push(`v.in_stock = ${arg(params.inStock)}`);
  const others = [text, params.seller, params.priceRanges, params.minRating, params.inStock];
  return {
    conditions,
    args,
    summarizable: others.every((value) => value === undefined),
    ...(categoryCondition ? { categoryCondition } : {}),
  };
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

interface HitRow {
  product_id: string;
  seller_id: string;
  seller_name: string;
  sku: string;
  name: string;
  category: string;
  category_path: string;
  price_minor: number;
  currency: string;
  price_range: string;
  average_rating: number | null;
  review_count: number;
  rating_bucket: string;
  sales_count: number;
  in_stock: boolean;
  name_html: string | null;
  description_html: string | null;
  keys: number[];
}

const escapeHtml = (column: string) =>
  `replace(replace(replace(replace(replace(${column}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')`;

/**
 * One statement: the filtered set (`matched`), the page from it with its snippets, and the facet
 * counts over it. With search words the set is materialized, so the full-text match and the rank
 * are computed once for both; without, it is inlined into each, so the page walks the sort's index
 * and the facets count from the covering facets index.
 */
async function runSearch(
  db: Reader,
  filter: Filter,
  sort: SearchSort,
  limit: number,
  cursor: SearchCursor | undefined,
  highlight: boolean,
): Promise<{ hits: HitRow[]; facets: FacetRow[] }> {
  const { keys, direction, casts } = sortKeys[sort];
  const args = [...filter.args];
  const arg = (value: unknown) => `$${args.push(value)}`;
  const keyed = keys.map((key, i) => `${key} AS k${i}`).join(', ');
  const keyNames = keys.map((_, i) => `k${i}`);
  const orderOf = (prefix: string) => [...keyNames, 'product_id'].map((k) => `${prefix}${k} ${direction}`).join(', ');
  const after = cursor
    ? `WHERE (${[...keyNames, 'product_id'].join(', ')}) ${direction === 'DESC' ? '<' : '>'} (${[
        ...cursor.keys.map((k, i) => `${arg(k)}::${casts[i]!}`),
        `${arg(cursor.productId)}::uuid`,
      ].join(', ')})`
    : '';
  const headline = (column: string, options: string) =>
    highlight
      ? `ts_headline('english', ${escapeHtml(`v.${column}`)}, websearch_to_tsquery('english', $1), '${options}, StartSel=<mark>, StopSel=</mark>')`
      : 'NULL';
  const [row] = await db.$queryRawUnsafe<{ hits: HitRow[]; facets: FacetRow[] }[]>(
    `WITH matched AS ${highlight ? '' : 'NOT '}MATERIALIZED (
       SELECT v.product_id, ${sort === 'relevance' ? `${RANK}::real AS rank, ` : ''}v.price_minor, v.average_rating,
         v.review_count, v.sales_count, v.category_path, v.price_range, v.rating_bucket, v.in_stock, v.seller_id,
         v.seller_name
       FROM ${VIEW} v WHERE ${filter.conditions.join(' AND ')}
     ), page AS (
       SELECT * FROM (SELECT v.product_id, ${keyed} FROM matched v) keyed ${after} ORDER BY ${orderOf('')} LIMIT ${limit + 1}
     ), hits AS (
       SELECT v.product_id::text, v.seller_id::text, v.seller_name, v.sku, v.name, v.category, v.category_path,
         v.price_minor::float8 AS price_minor, v.currency, v.price_range, v.average_rating::float8 AS average_rating,
         v.review_count, v.rating_bucket, v.sales_count, v.in_stock,
         ${headline('name', 'HighlightAll=true')} AS name_html,
         ${headline('description', 'MaxWords=30, MinWords=12, MaxFragments=2')} AS description_html,
         ARRAY[${keyNames.map((k) => `p.${k}::float8`).join(', ')}] AS keys, ${keyNames.map((k) => `p.${k}`).join(', ')}
       FROM page p JOIN ${VIEW} v ON v.product_id = p.product_id
     ), facets AS (${filter.summarizable ? summaryFacets(filter.categoryCondition) : countedFacets})
     SELECT (SELECT COALESCE(json_agg(h ORDER BY ${orderOf('h.')}), '[]'::json) FROM hits h) AS hits,
       (SELECT COALESCE(json_agg(f), '[]'::json) FROM facets f) AS facets`,
    ...args,
  );
  return { hits: row?.hits ?? [], facets: row?.facets ?? [] };
}

function hitOf(row: HitRow): SearchHit {
  return {
    productId: row.product_id,
    sellerId: row.seller_id,
    sellerName: row.seller_name,
    sku: row.sku,
    name: row.name,
    category: row.category,
    categoryPath: row.category_path,
    price: {
      minor: row.price_minor,
      currency: row.currency,
      formatted: formatMoney(money(row.price_minor, row.currency)),
    },
    priceRange: row.price_range,
    averageRating: row.average_rating,
    reviewCount: row.review_count,
    ratingBucket: row.rating_bucket,
    salesCount: row.sales_count,
    inStock: row.in_stock,
    highlight:
      row.name_html !== null && row.description_html !== null
        ? { name: row.name_html, description: row.description_html }
        : null,
  };
}
