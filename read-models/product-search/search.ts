import { formatMoney, money } from '../../domain/money';
import { ratingBucketsReaching } from './buckets';
import type { Database } from '../../platform/database';
import {
  catalogueSize,
  countedFacets,
  facetCounts,
  compactFacets,
  summaryFacets,
  termFacets,
  type FacetRow,
  type SearchFacets,
} from './facets';
import { encodeCursor, type SearchCursor, type SearchParams, type SearchSort } from './params';
import { correctQuery, type Correction } from './spelling';
import { qualifiedTable } from '../projections/projection';

/**
 * The product search: full text over read_models.product_search_view (weighted tsvector, GIN),
 * typo tolerant (read-models/product-search/spelling.ts), filtered, sorted with a keyset cursor, with facet
 * counts over the filtered set. Reads the read model only, never the write model.
 *
 * One statement (runSearch) answers the page, with its highlighted snippets, and the facets: sums
 * of the facet counts the projection keeps, catalogue-wide when browsing without words
 * (everything, or a category) and per lexeme for one word without filters (oneWordFacets, a short
 * statement first), or else one GROUPING SETS pass over the first COUNTED_MATCHES_MAX matches,
 * which also gives the total: exact up to that many, a lower bound flagged as such past it, since
 * each counted match is a read of its row and filters on a common word match tens of thousands
 * at a million products. Words and filters meet in one GIN index (the migration
 * product_search_match_index), so only rows that match everything are read. Relevance ranks only
 * the most popular matches by their text (RANKED_CANDIDATES, relevancePage), so a common word
 * costs a bounded walk of the sales index, whatever the catalogue's size. Snippets are made for
 * the returned page only: ts_headline re-parses the text and is the costliest function here.
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

/**
 * How many matches the relevance sort ranks by their text: the most popular ones (sales, then
 * id). Past them, matches follow by popularity alone. Bounds the ranking work of a common word.
 */
export const RANKED_CANDIDATES = 200;
/**
 * A one-word search with at most this many matches reads them all in one bitmap scan of the
 * full-text index; with more, the page walks its sort's index and stops once it is full.
 */
const MATERIALIZE_MATCHES_UP_TO = 2_000;
/**
 * How many matches a search counts its total and facets over, at most, when no summary has them
 * (several words, or filters): the first ones the index yields. Each costs a read of its row, and
 * a common word with filters matches tens of thousands of rows at a million products; past this
 * many, the total is a lower bound (`totalRelation: 'gte'`) and the facets are counted over these
 * matches only (`facetsExhaustive: false`), as Elasticsearch's track_total_hits and Algolia's
 * exhaustiveFacetsCount do. The same matches give the relevance sort its candidates then.
 */
export const COUNTED_MATCHES_MAX = 1_000;
/**
 * A one-word search finds its relevance candidates (its best sellers) by walking the sales index
 * when that reads at most about this many rows (RANKED_CANDIDATES over the word's share of the
 * catalogue); a rarer word takes them from the matches it counts instead.
 */
const SALES_WALK_MAX_ROWS = 4_000;

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
  /** Every match when totalRelation is 'eq'; a lower bound (COUNTED_MATCHES_MAX) when it is 'gte'. */
  total: number;
  totalRelation: 'eq' | 'gte';
  hits: SearchHit[];
  facets: SearchFacets;
  /** False when the facets were counted over the first COUNTED_MATCHES_MAX matches only. */
  facetsExhaustive: boolean;
  nextCursor: string | null;
}

/** The keys of each sort, all in one direction so that a keyset is one row comparison. */
const sortKeys: Record<SearchSort, { keys: string[]; direction: 'ASC' | 'DESC'; casts: string[] }> = {
  // The score and sales of relevancePage's rows.
  relevance: { keys: ['score', 'sales_count'], direction: 'DESC', casts: ['real', 'int'] },
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
  /** No filter besides the words (if any): a one-word search can take its facets from the per-word counts. */
  onlyWords: boolean;
  /** The category condition alone, for the summary tables (which have the column under the same alias). */
  categoryCondition?: string;
}

export interface SearchOptions {
  /** COUNTED_MATCHES_MAX unless given (tests use a small one to meet the bound on a small catalogue). */
  countedMatchesMax?: number;
}

export async function searchProducts(
  db: Reader,
  params: SearchParams,
  options: SearchOptions = {},
): Promise<SearchResult> {
  const corrected = params.q !== undefined ? await correctQuery(db, params.q, WORDS) : undefined;
  // Only stop words ("the"): nothing to match on, so it browses.
  const text = corrected?.searchable ? corrected.text : undefined;
  const sort: SearchSort = params.sort === 'relevance' && text === undefined ? 'best_selling' : params.sort;
  const filter = filterOf(params, text);
  const word = text !== undefined && filter.onlyWords ? await oneWordFacets(db, text) : undefined;
  const countedMax = options.countedMatchesMax ?? COUNTED_MATCHES_MAX;
  const { hits, facets, exhaustive } = await runSearch(db, filter, sort, params, text, word, countedMax);
  const more = hits.length > params.limit;
  const shown = more ? hits.slice(0, params.limit) : hits;
  const last = shown[shown.length - 1];
  const counted = facetCounts(facets);
  return {
    correctedQuery: corrected && corrected.corrections.length > 0 ? corrected.text : null,
    corrections: corrected?.corrections ?? [],
    sort,
    total: counted.total,
    totalRelation: exhaustive ? 'eq' : 'gte',
    hits: shown.map(hitOf),
    facets: counted.facets,
    facetsExhaustive: exhaustive,
    nextCursor: more && last ? encodeCursor({ sort, keys: last.keys, productId: last.product_id }) : null,
  };
}

/** A one-word search's facets from the projection's per-word counts, with the total they give. */
interface WordFacets {
  rows: FacetRow[];
  total: number;
  /** Active products in the catalogue: the word's share of it says what walking the sales index costs. */
  catalogue: number;
}

/**
 * When the words are one lexeme (`chair`, `chairs`, `comfortable`; not two words, a phrase or a
 * negation), its facets and total from the per-word counts; undefined otherwise. One short
 * statement: a tsquery of one node is that lexeme, quoted as `'chair'`.
 */
async function oneWordFacets(db: Reader, text: string): Promise<WordFacets | undefined> {
  const lexeme = `(SELECT l.lexeme FROM l)`;
  const [row] = await db.$queryRawUnsafe<{ lexeme: string | null; facets: FacetRow[] | null; catalogue: number }[]>(
    `WITH l AS (
       SELECT CASE WHEN numnode(q) = 1 THEN replace(substr(q::text, 2, length(q::text) - 2), '''''', '''') END AS lexeme
       FROM websearch_to_tsquery('english', $1) AS q
     )
     SELECT ${lexeme} AS lexeme,
       CASE WHEN ${lexeme} IS NOT NULL THEN (SELECT COALESCE(json_agg(f), '[]'::json) FROM (${termFacets(lexeme)}) f) END AS facets,
       CASE WHEN ${lexeme} IS NOT NULL THEN (${catalogueSize}) END AS catalogue`,
    text,
  );
  if (!row?.facets) return undefined;
  return { rows: row.facets, total: row.facets.find((r) => r.total_set)?.count ?? 0, catalogue: row.catalogue };
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
    // Implied by the path, but an equality the full-text index holds (the match index), unlike a LIKE.
    conditions.push(`v.category = ${arg(params.category.split('/')[0])}`, categoryCondition);
  }
  if (params.seller !== undefined) conditions.push(`v.seller_id = ${arg(params.seller)}::uuid`);
  if (params.priceRanges !== undefined) conditions.push(`v.price_range = ANY(${arg(params.priceRanges)}::text[])`);
  if (params.minRating !== undefined) {
    // The bucket for the index when the minimum falls in the top one ("4 stars & up"), the average
    // for the row (a bucket is coarser than a rating). Several buckets hold most products: GIN
    // would intersect the words with each of them for little gain (the planner takes it anyway).
    const buckets = ratingBucketsReaching(params.minRating);
    if (buckets.length === 1) conditions.push(`v.rating_bucket = ${arg(buckets[0])}`);
    conditions.push(`v.average_rating >= ${arg(params.minRating)}::numeric`);
  }
  if (params.inStock !== undefined) conditions.push(`v.in_stock = ${arg(params.inStock)}`);
  const others = [text, params.seller, params.priceRanges, params.minRating, params.inStock];
  const filters = [params.category, params.seller, params.priceRanges, params.minRating, params.inStock];
  return {
    conditions,
    args,
    summarizable: others.every((value) => value === undefined),
    onlyWords: filters.every((value) => value === undefined),
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
 * Where the relevance sort's candidates come from: all the matches, read at once (a rare word);
 * a walk of the sales index that stops at the RANKED_CANDIDATES best sellers (a common word); or
 * the matches the search counts (`counted`, the first COUNTED_MATCHES_MAX), when neither is cheap
 * (several words, filters, a word of middling frequency).
 */
type CandidateSource = 'matched' | 'sales walk' | 'counted';

/**
 * One statement: the filtered set (`matched`), the page from it with its snippets, and the facet
 * counts (unless a one-word search brings them from the per-word counts, or browsing from the
 * catalogue-wide ones). Facets are counted over `counted`, the first `countedMax` matches in the
 * order the index yields them (materialized once, with one more to know whether there are more),
 * so that their cost is bounded whatever the number of matches. `matched` itself is inlined into
 * the page, which walks its sort's index and reads only the rows it needs, unless a one-word
 * search has few matches: one bitmap scan of the full-text index then reads them all at once.
 */
async function runSearch(
  db: Reader,
  filter: Filter,
  sort: SearchSort,
  params: Pick<SearchParams, 'limit' | 'cursor'>,
  text: string | undefined,
  word: WordFacets | undefined,
  countedMax: number,
): Promise<{ hits: HitRow[]; facets: FacetRow[]; exhaustive: boolean }> {
  const { limit, cursor } = params;
  const { keys, direction, casts } = sortKeys[sort];
  const args = [...filter.args];
  const arg = (value: unknown) => `$${args.push(value)}`;
  const keyNames = keys.map((_, i) => `k${i}`);
  const orderOf = (prefix: string) => [...keyNames, 'product_id'].map((k) => `${prefix}${k} ${direction}`).join(', ');
  const cursorRow = (c: SearchCursor) =>
    `(${[...c.keys.map((k, i) => `${arg(k)}::${casts[i]!}`), `${arg(c.productId)}::uuid`].join(', ')})`;
  // A function: its parameters are added only when the SQL uses them (an unused one has no type).
  const after = () =>
    cursor
      ? `WHERE (${[...keyNames, 'product_id'].join(', ')}) ${direction === 'DESC' ? '<' : '>'} ${cursorRow(cursor)}`
      : '';
  const highlight = text !== undefined;
  const counting = !word && !filter.summarizable;
  const materialized = word !== undefined && word.total <= MATERIALIZE_MATCHES_UP_TO;
  const relevance = sort === 'relevance';
  const source: CandidateSource = materialized
    ? 'matched'
    : word && word.total * SALES_WALK_MAX_ROWS >= RANKED_CANDIDATES * word.catalogue
      ? 'sales walk'
      : 'counted';
  const bounded = counting || (relevance && source === 'counted');
  const headline = (column: string, options: string) =>
    highlight
      ? `ts_headline('english', ${escapeHtml(`v.${column}`)}, websearch_to_tsquery('english', $1), '${options}, StartSel=<mark>, StopSel=</mark>')`
      : 'NULL';
  const page = relevance
    ? relevancePage({ limit, cursor, source, arg, after })
    : `SELECT * FROM (SELECT v.product_id, ${keys.map((key, i) => `${key} AS k${i}`).join(', ')} FROM matched v) keyed
       ${after()} ORDER BY ${orderOf('')} LIMIT ${limit + 1}`;
  const facets = word
    ? undefined
    : filter.summarizable
      ? summaryFacets(filter.categoryCondition)
      : countedFacets('counted');
  const [row] = await db.$queryRawUnsafe<{ hits: HitRow[]; facets: FacetRow[] | null; exhaustive: boolean }[]>(
    `WITH matched AS ${materialized ? '' : 'NOT '}MATERIALIZED (
       SELECT v.product_id, v.price_minor, v.average_rating, v.review_count, v.sales_count, v.category_path,
         v.price_range, v.rating_bucket, v.in_stock, v.seller_id, v.seller_name${relevance && source === 'sales walk' ? ', v.search_vector' : ''}
       FROM ${VIEW} v WHERE ${filter.conditions.join(' AND ')}
     )${bounded ? `, bounded AS MATERIALIZED (SELECT * FROM matched LIMIT ${countedMax + 1}), counted AS (SELECT * FROM bounded LIMIT ${countedMax})` : ''}, page AS (${page}
     ), hits AS (
       SELECT v.product_id::text, v.seller_id::text, v.seller_name, v.sku, v.name, v.category, v.category_path,
         v.price_minor::float8 AS price_minor, v.currency, v.price_range, v.average_rating::float8 AS average_rating,
         v.review_count, v.rating_bucket, v.sales_count, v.in_stock,
         ${headline('name', 'HighlightAll=true')} AS name_html,
         ${headline('description', 'MaxWords=30, MinWords=12, MaxFragments=2')} AS description_html,
         ARRAY[${keyNames.map((k) => `p.${k}::float8`).join(', ')}] AS keys, ${keyNames.map((k) => `p.${k}`).join(', ')}
       FROM page p JOIN ${VIEW} v ON v.product_id = p.product_id
     )${facets ? `, combinations AS (${facets}), facets AS (${compactFacets('combinations')})` : ''}
     SELECT (SELECT COALESCE(json_agg(h ORDER BY ${orderOf('h.')}), '[]'::json) FROM hits h) AS hits,
       ${facets ? `(SELECT COALESCE(json_agg(f), '[]'::json) FROM facets f)` : 'NULL::json'} AS facets,
       ${counting ? `(SELECT count(*) FROM bounded) <= ${countedMax}` : 'true'} AS exhaustive`,
    ...args,
  );
  return { hits: row?.hits ?? [], facets: word?.rows ?? row?.facets ?? [], exhaustive: row?.exhaustive ?? true };
}

/**
 * The relevance sort's page (keys k0, the score, and k1, sales; see docs/read-models.md): the
 * RANKED_CANDIDATES most popular matches of the candidates' source (by sales, then id) ranked by
 * their text, then every other match by popularity alone (score -1). The other matches are read
 * only when the page reaches past the candidates. When the candidates are the best sellers of all
 * matches, the others are the matches after the last candidate, and a cursor past the candidates
 * skips them; when they are the best sellers of the counted matches, the others are every match
 * that is not a candidate.
 */
function relevancePage(options: {
  limit: number;
  cursor: SearchCursor | undefined;
  source: CandidateSource;
  arg: (value: unknown) => string;
  after: () => string;
}): string {
  const { limit, cursor, source, arg, after } = options;
  const popular = 'ORDER BY m.sales_count DESC, m.product_id DESC';
  const pastCandidates = cursor !== undefined && cursor.keys[0]! < 0;
  const sinceCursor = () =>
    `(m.sales_count, m.product_id) < (${arg(cursor!.keys[1])}::int, ${arg(cursor!.productId)}::uuid)`;
  if (pastCandidates && source !== 'counted') {
    return `SELECT m.product_id, (-1)::real AS k0, m.sales_count AS k1 FROM matched m
       WHERE ${sinceCursor()} ${popular} LIMIT ${limit + 1}`;
  }
  // Walking, the matches carry their vector; otherwise the candidates' are read again by key.
  const candidates =
    source === 'sales walk'
      ? `SELECT m.product_id, m.sales_count, ${RANK.replace('v.search_vector', 'm.search_vector')}::real AS score
       FROM matched m ${popular} LIMIT ${RANKED_CANDIDATES}`
      : `SELECT c.product_id, c.sales_count, ${RANK}::real AS score
       FROM (SELECT m.product_id, m.sales_count FROM ${source} m ${popular} LIMIT ${RANKED_CANDIDATES}) c
       JOIN ${VIEW} v ON v.product_id = c.product_id`;
  const last = `(SELECT c.COLUMN FROM candidates c ORDER BY c.sales_count, c.product_id LIMIT 1)`;
  const others =
    source === 'counted'
      ? `(SELECT count(*) FROM bounded) > (SELECT count(*) FROM candidates)
         AND m.product_id NOT IN (SELECT c.product_id FROM candidates c)${pastCandidates ? ` AND ${sinceCursor()}` : ''}`
      : `(SELECT count(*) FROM candidates) = ${RANKED_CANDIDATES}
         AND (m.sales_count, m.product_id) < (${last.replace('COLUMN', 'sales_count')}, ${last.replace('COLUMN', 'product_id')})`;
  // Fewer than a page of candidates left after the cursor: only then does the page reach the others.
  const reached = `(SELECT count(*) FROM (SELECT c.score AS k0, c.sales_count AS k1, c.product_id FROM candidates c) keyed
       ${after()}) <= ${limit}`;
  return `WITH candidates AS (${candidates})
     SELECT * FROM (
       SELECT c.product_id, c.score AS k0, c.sales_count AS k1 FROM candidates c
       UNION ALL
       (SELECT m.product_id, (-1)::real, m.sales_count FROM matched m
        WHERE ${reached} AND ${others}
        ${popular} LIMIT ${limit + 1})
     ) keyed ${after()} ORDER BY k0 DESC, k1 DESC, product_id DESC LIMIT ${limit + 1}`;
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
