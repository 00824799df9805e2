import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { Command, Option } from 'commander';
import express from 'express';
import pino from 'pino';
import { productSearchRoutes } from '../api/catalogue/product-search-routes';
import { seedCatalogue } from '../catalogue/seed';
import { loadConfigOrExit } from '../platform/config';
import { createDatabase, type Database } from '../platform/database';
import { migrate } from '../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../platform/postgres-admin';
import { searchProducts } from '../read-models/product-search/search';
import { priceRanges, ratingBuckets } from '../read-models/product-search/buckets';
import { searchQuerySchema } from '../read-models/product-search/params';
import { productSearchProjection } from '../read-models/projections/product-search';
import { catchUp } from '../read-models/projections/runner';
import { quantile, round } from './support/load';
import { writeResults } from './support/results';
import { parseWholeNumber, progressBar } from '../platform/command-line';

/**
 * Question: how fast is the product search (hits, snippets and facets) on a catalogue of
 * 100,000 products, uncached? Aim: p95 under 50 ms on this machine.
 *
 * A fresh database (dropped at the end) seeded with catalogue/seed.ts. The read model is built
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
  /** A database to seed once and reuse across runs (never dropped): seeded only when it holds no catalogue yet. */
  database?: string;
  /** How the read model is built from the seeded catalogue. */
  build: 'projection' | 'set-based';
  /** Only EXPLAIN (ANALYZE, BUFFERS) each query of the set, measuring nothing (with --database, to study plans). */
  explainOnly: boolean;
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

/** /proc/loadavg's 1, 5 and 15 minute averages and running/total tasks ("1.20 0.80 0.50 3/210"). */
function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 4).join(' ');
  } catch {
    return os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ');
  }
}

async function main(options: Options): Promise<void> {
  const base = loadConfigOrExit();
  const logger = pino({ level: 'info', base: undefined });
  const reuse = options.database !== undefined;
  const databaseUrl = databaseUrlFor(
    base.database.url,
    options.database ?? `shopflow_bench_search_${randomUUID().slice(0, 8)}`,
  );
  await ensureDatabase(databaseUrl);
  const db = createDatabase({ database: { url: databaseUrl, poolSize: 8 } });
  const figures: Record<string, number | string> = {
    products: options.products,
    rounds: options.rounds,
    cpus: os.cpus().length,
    // Other processes' load on this machine during the run skews every latency: reported beside them.
    load_average_1m_at_start: round(os.loadavg()[0]!, 2),
    loadavg_at_start: loadAverage(),
  };
  try {
    await migrate(databaseUrl);
    const [seeded] = await db.$queryRawUnsafe<{ products: number; rows: number }[]>(
      `SELECT (SELECT count(*)::int FROM products) AS products,
              (SELECT count(*)::int FROM read_models.product_search_view) AS rows`,
    );
    if (reuse && seeded && seeded.products > 0 && seeded.products !== options.products)
      throw new Error(
        `database ${options.database} holds ${seeded.products} products, not ${options.products}: pass --products ${seeded.products} or another --database`,
      );
    if (reuse && seeded?.products === options.products && seeded.rows === options.products) {
      figures['database'] = 'reused';
      logger.info({ database: options.database, products: seeded.products }, 'reusing the seeded database');
    } else {
      // A reused database whose catalogue is there but whose read model is not (an interrupted run) is not seeded again.
      await prepare(db, options, figures, logger, seeded?.products === options.products);
    }
    const [counts] = await db.$queryRawUnsafe<{ rows: number; words: number }[]>(
      `SELECT (SELECT count(*)::int FROM read_models.product_search_view) AS rows,
              (SELECT count(*)::int FROM read_models.product_search_words) AS words`,
    );
    figures['view_rows'] = counts?.rows ?? 0;
    figures['vocabulary_words'] = counts?.words ?? 0;

    const sellerId = await someSeller(db);
    const queries: Record<string, Record<string, string>> = {
      ...QUERIES,
      seller_filter: { seller: sellerId },
      second_page: { q: 'chair', sort: 'price_asc', cursor: await nextCursor(db, { q: 'chair', sort: 'price_asc' }) },
    };

    if (options.explainOnly) {
      for (const [name, query] of Object.entries(queries)) {
        console.log(`\n=== ${name} ${JSON.stringify(query)}\n${await explain(db, query)}`);
      }
      return;
    }

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
    figures['loadavg_at_end'] = loadAverage();
    await explainSlowest(db, direct, queries, logger);
  } finally {
    await db.$disconnect();
    if (!options.keep && !reuse) await dropDatabase(databaseUrl);
    else logger.info({ databaseUrl }, 'database kept');
  }
  const file = writeResults('search', figures);
  logger.info({ file, ...figures }, 'benchmark written');
}

/** Seeds the catalogue, builds the read model and gives the products reviews and sales (progress bars on a terminal). */
async function prepare(
  db: Database,
  options: Options,
  figures: Record<string, number | string>,
  logger: pino.Logger,
  seeded: boolean,
): Promise<void> {
  let startedAt = performance.now();
  const bar = progressBar();
  if (!seeded)
    await seedCatalogue(
      db,
      { sellers: options.sellers, products: options.products, customers: 10, maxStock: 40, currency: 'EUR', seed: 8 },
      (progress) => bar.show(`seed ${progress.phase}`, progress.done, progress.total),
    );
  bar.stop();
  figures['seed_s'] = round((performance.now() - startedAt) / 1000, 1);
  logger.info({ seconds: figures['seed_s'] }, 'catalogue seeded');

  startedAt = performance.now();
  figures['view_built_by'] = await buildView(db, options.products, options.build);
  figures['view_build_s'] = round((performance.now() - startedAt) / 1000, 1);
  startedAt = performance.now();
  await giveReviewsAndSales(db);
  await recountFacets(db);
  // FULL: the reviews-and-sales update left a dead version of every row; a live table is vacuumed as it goes.
  await db.$executeRawUnsafe('VACUUM FULL ANALYZE read_models.product_search_view');
  await db.$executeRawUnsafe('VACUUM ANALYZE read_models.product_search_words');
  figures['reviews_and_vacuum_s'] = round((performance.now() - startedAt) / 1000, 1);
  logger.info({ by: figures['view_built_by'], seconds: figures['view_build_s'] }, 'read model built');
}

/** The projection's own catch-up when the seed wrote product events; otherwise set-based from the tables. */
async function buildView(db: Database, products: number, how: Options['build']): Promise<string> {
  const [events] = await db.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM domain_events WHERE aggregate_type = 'product'`,
  );
  // Whatever an interrupted run left (its facet counts are counted again after the reviews).
  await db.$executeRawUnsafe(
    `TRUNCATE read_models.product_search_view, read_models.product_search_words, read_models.projection_positions`,
  );
  if ((events?.n ?? 0) > 0 && how === 'projection') {
    const bar = progressBar();
    await catchUp({
      db,
      projection: productSearchProjection,
      batchSize: 5_000,
      onProgress: (applied) => bar.show('project', Math.min(applied, products), products),
    });
    bar.stop();
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
  // tsvector_to_array gives each product's words once: counted per word first, stemmed per distinct word after.
  await db.$executeRawUnsafe(
    `INSERT INTO read_models.product_search_words (word, lexeme, occurrences)
     SELECT t.word, (tsvector_to_array(to_tsvector('english', t.word)))[1], t.n
     FROM (SELECT word, count(*)::int AS n FROM read_models.product_search_view v,
             unnest(tsvector_to_array(to_tsvector('simple',
               v.name || ' ' || v.description || ' ' || replace(v.category_path, '/', ' ') || ' ' || v.seller_name))) AS word
           GROUP BY word) t
     WHERE t.word ~ '^[[:alpha:]]{3,100}$' AND (tsvector_to_array(to_tsvector('english', t.word)))[1] IS NOT NULL`,
  );
  return how === 'set-based'
    ? 'set-based from the product tables (--build set-based)'
    : 'set-based from the product tables (the seed wrote no events)';
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

/**
 * The projection's facet counts (catalogue-wide, per seller, per word) counted again from the
 * rows: giveReviewsAndSales changed rating buckets behind the projection's back.
 */
async function recountFacets(db: Database): Promise<void> {
  await db.$transaction(
    async (tx) => {
      // Millions of (word, facet value) groups: hashed in memory rather than spilled in 4 MB batches.
      await tx.$executeRawUnsafe(`SET LOCAL work_mem = '512MB'`);
      await tx.$executeRawUnsafe(
        `TRUNCATE read_models.product_search_facet_counts, read_models.product_search_seller_counts,
           read_models.product_search_term_facets`,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO read_models.product_search_facet_counts (category_path, price_range, rating_bucket, in_stock, products)
         SELECT category_path, price_range, rating_bucket, in_stock, count(*)::int FROM read_models.product_search_view
         WHERE active GROUP BY category_path, price_range, rating_bucket, in_stock`,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO read_models.product_search_seller_counts (seller_id, category_path, seller_name, products)
         SELECT seller_id, category_path, max(seller_name COLLATE "C"), count(*)::int FROM read_models.product_search_view
         WHERE active GROUP BY seller_id, category_path`,
      );
      // One facet at a time: each pass groups a few hundred thousand (word, value) pairs at most.
      for (const [facet, value, label] of [
        ['category', 'v.category_path::text', 'NULL::text'],
        ['price_range', 'v.price_range::text', 'NULL::text'],
        ['rating', 'v.rating_bucket::text', 'NULL::text'],
        ['in_stock', 'v.in_stock::text', 'NULL::text'],
        ['seller', 'v.seller_id::text', 'v.seller_name::text'],
      ]) {
        await tx.$executeRawUnsafe(
          `INSERT INTO read_models.product_search_term_facets (lexeme, facet, value, label, products)
           SELECT l.lexeme, '${facet}', ${value}, max(${label} COLLATE "C"), count(*)::int
           FROM read_models.product_search_view v
           CROSS JOIN LATERAL unnest(tsvector_to_array(v.search_vector)) AS l(lexeme)
           WHERE v.active
           GROUP BY l.lexeme, ${value}`,
        );
      }
    },
    { timeout: 3_600_000, maxWait: 60_000 },
  );
  await db.$executeRawUnsafe(
    `ANALYZE read_models.product_search_facet_counts, read_models.product_search_seller_counts,
       read_models.product_search_term_facets`,
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
  logger.info(
    { slowest: name, query: queries[name], p95Ms: round(quantile(samples, 0.95), 2) },
    'slowest query of the set',
  );
  console.log(await explain(db, queries[name]!));
}

/** The plan of each statement of one search (EXPLAIN (ANALYZE, BUFFERS)), in the order it runs them. */
async function explain(db: Database, query: Record<string, string>): Promise<string> {
  const statements: { sql: string; args: unknown[] }[] = [];
  const recorder = {
    $queryRawUnsafe: (sql: string, ...args: unknown[]) => {
      statements.push({ sql, args });
      return db.$queryRawUnsafe(sql, ...args);
    },
  } as Pick<Database, '$queryRawUnsafe'>;
  await searchProducts(recorder, searchQuerySchema.parse(query));
  const plans: string[] = [];
  for (const { sql, args } of statements) {
    const plan = await db.$queryRawUnsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, ...args);
    plans.push(plan.map((line) => line['QUERY PLAN']).join('\n'));
  }
  return plans.join('\n\n');
}

const program = new Command()
  .name('bench:search')
  .description('Product search latency (hits, snippets, facets) on a seeded catalogue, uncached')
  .option('--products <n>', 'products in the catalogue', parseWholeNumber, 100_000)
  .option('--sellers <n>', 'sellers in the catalogue', parseWholeNumber, 500)
  .option('--rounds <n>', 'runs of each query', parseWholeNumber, 40)
  .option('--keep', 'keep the database (to EXPLAIN ANALYZE by hand)', false)
  .addOption(
    new Option('--build <how>', 'build the read model by the projection (its catch-up) or set-based from the tables')
      .choices(['projection', 'set-based'])
      .default('projection'),
  )
  .option('--explain-only', 'print the plan of every query of the set instead of measuring', false)
  .option(
    '--database <name>',
    'seed this database once and reuse it on later runs (never dropped; drop it by hand when done)',
  )
  .action(async (options: Options) => main(options));

program.parseAsync().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
