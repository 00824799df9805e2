import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { Command, InvalidArgumentError } from 'commander';
import express from 'express';
import pino from 'pino';
import { productSearchRoutes } from '../api/product-search-routes';
import { seedCatalogue } from '../lib/catalogue-seed';
import { loadConfigOrExit } from '../lib/config';
import { createDatabase, type Database } from '../lib/database';
import { migrate } from '../lib/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../lib/postgres-admin';
import { searchProducts } from '../lib/product-search';
import { priceRanges, ratingBuckets } from '../lib/product-search-buckets';
import { searchQuerySchema } from '../lib/product-search-params';
import { productSearchProjection } from '../lib/projections/product-search';
import { catchUp } from '../lib/projections/runner';
import { quantile, round } from './support/load';
import { writeResults } from './support/results';

/**
 * Question: how fast is the product search (hits, snippets and facets) on a catalogue of
 * 100,000 products, uncached? Aim: p95 under 50 ms on this machine.
 *
 * A fresh database (dropped at the end) seeded with lib/catalogue-seed.ts. The read model is built
 * by the projection itself (catch-up over the ProductCreated events) when the seed writes events;
 * a seed that writes only the product tables is projected set-based straight from them (the same
 * columns the projection writes), which the results say (`view_built_by`). Reviews and sales are
 * then given to the products from a hash of their id (the seed has none, and sorts by rating or
 * sales over all-equal keys would measure nothing), the vocabulary is filled, and everything is
 * VACUUM ANALYZEd.
 *
 * Then a fixed set of queries (words, typos, category browse, filters, each sort, a second page,
 * browsing everything with facets), each run `--rounds` times, one at a time (latency, not
 * throughput): through searchProducts against PostgreSQL, and through the HTTP route (no cache).
 * Baselines in the same run: `name ILIKE '%chair%' LIMIT 20` and a primary-key lookup.
 */

interface Options {
  products: number;
  sellers: number;
  rounds: number;
  keep: boolean;
}

/** The fixed query set: name → query string as a client sends it. */
const QUERIES: Record<string, Record<string, string>> = {
  word: { q: 'chair' },
  two_words: { q: 'ergonomic keyboard' },
  description_word: { q: 'comfortable' },
  typo_chiar: { q: 'chiar' },
  typo_keybord: { q: 'keybord' },
  category_browse: { category: 'electronics' },
  filters: { q: 'shirt', category: 'fashion', priceRange: '10-25,25-50', inStock: 'true' },
  min_rating: { q: 'table', minRating: '4' },
  sort_price_asc: { q: 'chair', sort: 'price_asc' },
  sort_price_desc: { q: 'chair', sort: 'price_desc' },
  sort_rating: { category: 'home/kitchen', sort: 'rating' },
  sort_best_selling: { q: 'shoes', sort: 'best_selling' },
  browse_all: {},
};

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

async function main(options: Options): Promise<void> {
  const base = loadConfigOrExit();
  const logger = pino({ level: 'info', base: undefined });
  const databaseUrl = databaseUrlFor(base.database.url, `shopflow_bench_search_${randomUUID().slice(0, 8)}`);
  await ensureDatabase(databaseUrl);
  const db = createDatabase({ database: { url: databaseUrl, poolSize: 8 } });
  const figures: Record<string, number | string> = {
    products: options.products,
    rounds: options.rounds,
    cpus: os.cpus().length,
    // Other processes' load on this machine during the run skews every latency: reported beside them.
    load_average_1m_at_start: round(os.loadavg()[0]!, 2),
  };
  try {
    await migrate(databaseUrl);
    let startedAt = performance.now();
    await seedCatalogue(db, {
      sellers: options.sellers,
      products: options.products,
      customers: 10,
      maxStock: 40,
      currency: 'EUR',
      seed: 8,
    });
    figures['seed_s'] = round((performance.now() - startedAt) / 1000, 1);
    logger.info({ seconds: figures['seed_s'] }, 'catalogue seeded');

    startedAt = performance.now();
    figures['view_built_by'] = await buildView(db);
    figures['view_build_s'] = round((performance.now() - startedAt) / 1000, 1);
    await giveReviewsAndSales(db);
    // FULL: the reviews-and-sales update left a dead version of every row; a live table is vacuumed as it goes.
    await db.$executeRawUnsafe('VACUUM FULL ANALYZE read_models.product_search_view');
    await db.$executeRawUnsafe('VACUUM ANALYZE read_models.product_search_words');
    const [counts] = await db.$queryRawUnsafe<{ rows: number; words: number }[]>(
      `SELECT (SELECT count(*)::int FROM read_models.product_search_view) AS rows,
              (SELECT count(*)::int FROM read_models.product_search_words) AS words`,
    );
    figures['view_rows'] = counts?.rows ?? 0;
    figures['vocabulary_words'] = counts?.words ?? 0;
    logger.info({ by: figures['view_built_by'], seconds: figures['view_build_s'], ...counts }, 'read model built');

    const sellerId = await someSeller(db);
    const queries: Record<string, Record<string, string>> = {
      ...QUERIES,
      seller_filter: { seller: sellerId },
      second_page: { q: 'chair', sort: 'price_asc', cursor: await nextCursor(db, { q: 'chair', sort: 'price_asc' }) },
    };

    // Direct: the query function against PostgreSQL.
    const direct = await measure(queries, options.rounds, (query) =>
      searchProducts(db, searchQuerySchema.parse(query)),
    );
    Object.assign(figures, summary('direct', direct));

    // Through HTTP: the route with no cache (every request loads).
    const app = express().use(productSearchRoutes({ db, config: base }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const http = await measure(queries, options.rounds, async (query) => {
        const response = await fetch(
          `http://127.0.0.1:${port}/v1/products/search?${new URLSearchParams(query).toString()}`,
        );
        if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
        return response.json();
      });
      Object.assign(figures, summary('http', http, false));
    } finally {
      server.close();
    }

    // Baselines: the cheapest things one could ask PostgreSQL for.
    const ilike = await measure({ ilike: {} }, options.rounds * 3, () =>
      db.$queryRawUnsafe(
        `SELECT product_id, name FROM read_models.product_search_view WHERE name ILIKE '%chair%' LIMIT 20`,
      ),
    );
    const byKey = await measure({ pk: {} }, options.rounds * 3, () =>
      db.$queryRawUnsafe(
        `SELECT product_id::text, name, price_minor::float8 AS price FROM read_models.product_search_view WHERE product_id = $1::uuid`,
        sellerId,
      ),
    );
    const ilikeP50 = quantile(ilike.get('ilike')!, 0.5);
    figures['baseline_ilike_p50_ms'] = round(ilikeP50, 2);
    figures['baseline_ilike_p95_ms'] = round(quantile(ilike.get('ilike')!, 0.95), 2);
    figures['baseline_pk_lookup_p50_ms'] = round(quantile(byKey.get('pk')!, 0.5), 2);
    figures['direct_p50_ratio_vs_ilike'] = round((figures['direct_all_p50_ms'] as number) / ilikeP50, 1);

    figures['load_average_1m_at_end'] = round(os.loadavg()[0]!, 2);
    await explainSlowest(db, direct, queries, logger);
  } finally {
    await db.$disconnect();
    if (!options.keep) await dropDatabase(databaseUrl);
    else logger.info({ databaseUrl }, 'database kept');
  }
  const file = writeResults('search', figures);
  logger.info({ file, ...figures }, 'benchmark written');
}

/** The projection's own catch-up when the seed wrote product events; otherwise set-based from the tables. */
async function buildView(db: Database): Promise<string> {
  const [events] = await db.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM domain_events WHERE aggregate_type = 'product'`,
  );
  if ((events?.n ?? 0) > 0) {
    await catchUp({ db, projection: productSearchProjection, batchSize: 5_000 });
    return 'projection catch-up';
  }
  const ranges = priceRanges
    .map((r) => `WHEN p.price_minor < ${Number.isFinite(r.max) ? r.max * 100 : 'p.price_minor + 1'} THEN '${r.label}'`)
    .join(' ');
  await db.$executeRawUnsafe(
    `INSERT INTO read_models.product_search_view (product_id, seller_id, seller_name, sku, name, description,
       category_path, price_minor, currency, price_range, rating_sum, review_count, average_rating, rating_bucket,
       sales_count, available, active, updated_at)
     SELECT p.id, p.seller_id, s.name, p.sku, p.name, p.description, p.category_path, p.price_minor, p.currency,
       CASE ${ranges} END, 0, 0, NULL, 'unrated', 0, COALESCE(i.on_hand - i.reserved, 0), p.active, p.updated_at
     FROM products p JOIN sellers s ON s.id = p.seller_id LEFT JOIN inventory i ON i.product_id = p.id`,
  );
  await db.$executeRawUnsafe(
    `INSERT INTO read_models.product_search_words (word, lexeme, occurrences)
     SELECT t.word, (tsvector_to_array(to_tsvector('english', t.word)))[1], count(*)::int
     FROM (SELECT DISTINCT v.product_id, word FROM read_models.product_search_view v,
             unnest(tsvector_to_array(to_tsvector('simple',
               v.name || ' ' || v.description || ' ' || replace(v.category_path, '/', ' ') || ' ' || v.seller_name))) AS word) t
     WHERE t.word ~ '^[[:alpha:]]{3,100}$' AND (tsvector_to_array(to_tsvector('english', t.word)))[1] IS NOT NULL
     GROUP BY t.word`,
  );
  return 'set-based from the product tables (the seed wrote no events)';
}

/** Reviews (0–40, ratings 1–5) and sales (0–500) from a hash of each id, with the buckets the projection would give. */
async function giveReviewsAndSales(db: Database): Promise<void> {
  const [high, mid, low, lowest, unrated] = ratingBuckets;
  await db.$executeRawUnsafe(
    `WITH h AS (
       SELECT product_id, abs(hashtext(product_id::text)) AS x FROM read_models.product_search_view
     ), r AS (
       SELECT product_id, x % 41 AS reviews, x % 500 AS sales, (x / 41) % 5 + 1 AS typical FROM h
     )
     UPDATE read_models.product_search_view v SET
       review_count = r.reviews, rating_sum = r.reviews * r.typical, sales_count = r.sales,
       average_rating = CASE WHEN r.reviews > 0 THEN r.typical END,
       rating_bucket = CASE WHEN r.reviews = 0 THEN '${unrated}' WHEN r.typical >= 4 THEN '${high}'
         WHEN r.typical >= 3 THEN '${mid}' WHEN r.typical >= 2 THEN '${low}' ELSE '${lowest}' END
     FROM r WHERE v.product_id = r.product_id`,
  );
}

async function someSeller(db: Database): Promise<string> {
  const [row] = await db.$queryRawUnsafe<{ id: string }[]>(`SELECT id::text FROM sellers ORDER BY id LIMIT 1`);
  return row!.id;
}

async function nextCursor(db: Database, query: Record<string, string>): Promise<string> {
  const result = await searchProducts(db, searchQuerySchema.parse(query));
  if (!result.nextCursor) throw new Error('the first page of the second-page query has no next page');
  return result.nextCursor;
}

/** Each query `rounds` times, interleaved (round-robin), after one warm-up round. Latencies per query. */
async function measure<T>(
  queries: Record<string, Record<string, string>>,
  rounds: number,
  run: (query: Record<string, string>) => Promise<T>,
): Promise<Map<string, number[]>> {
  const latencies = new Map<string, number[]>(Object.keys(queries).map((name) => [name, []]));
  for (const query of Object.values(queries)) await run(query);
  for (let round = 0; round < rounds; round++) {
    for (const [name, query] of Object.entries(queries)) {
      const startedAt = performance.now();
      await run(query);
      latencies.get(name)!.push(performance.now() - startedAt);
    }
  }
  return latencies;
}

function summary(prefix: string, latencies: Map<string, number[]>, perQuery = true): Record<string, number> {
  const figures: Record<string, number> = {};
  const all = [...latencies.values()].flat();
  figures[`${prefix}_all_p50_ms`] = round(quantile(all, 0.5), 2);
  figures[`${prefix}_all_p95_ms`] = round(quantile(all, 0.95), 2);
  figures[`${prefix}_all_p99_ms`] = round(quantile(all, 0.99), 2);
  if (!perQuery) return figures;
  for (const [name, samples] of latencies) {
    figures[`${prefix}_${name}_p50_ms`] = round(quantile(samples, 0.5), 2);
    figures[`${prefix}_${name}_p95_ms`] = round(quantile(samples, 0.95), 2);
    figures[`${prefix}_${name}_p99_ms`] = round(quantile(samples, 0.99), 2);
  }
  return figures;
}

/** Logs the slowest query of the set and the plan of each of its statements (EXPLAIN ANALYZE). */
async function explainSlowest(
  db: Database,
  latencies: Map<string, number[]>,
  queries: Record<string, Record<string, string>>,
  logger: pino.Logger,
): Promise<void> {
  const [name, samples] = [...latencies].sort((a, b) => quantile(b[1], 0.95) - quantile(a[1], 0.95))[0]!;
  const statements: { sql: string; args: unknown[] }[] = [];
  const recorder = {
    $queryRawUnsafe: (sql: string, ...args: unknown[]) => {
      statements.push({ sql, args });
      return db.$queryRawUnsafe(sql, ...args);
    },
  } as Pick<Database, '$queryRawUnsafe'>;
  await searchProducts(recorder, searchQuerySchema.parse(queries[name]));
  const plans: string[] = [];
  for (const { sql, args } of statements) {
    const plan = await db.$queryRawUnsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, ...args);
    plans.push(plan.map((line) => line['QUERY PLAN']).join('\n'));
  }
  logger.info(
    { slowest: name, query: queries[name], p95Ms: round(quantile(samples, 0.95), 2) },
    'slowest query of the set',
  );
  console.log(plans.join('\n\n'));
}

const program = new Command()
  .name('bench:search')
  .description('Product search latency (hits, snippets, facets) on a seeded catalogue, uncached')
  .option('--products <n>', 'products in the catalogue', positiveInt, 100_000)
  .option('--sellers <n>', 'sellers in the catalogue', positiveInt, 500)
  .option('--rounds <n>', 'runs of each query', positiveInt, 40)
  .option('--keep', 'keep the database (to EXPLAIN ANALYZE by hand)', false)
  .action(async (options: Options) => main(options));

program.parseAsync().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
