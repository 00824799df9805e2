import { createApiKey } from '../access/api-keys';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { Redis } from 'ioredis';
import pidusage from 'pidusage';
import { Pool } from 'pg';
import pino from 'pino';
import { ORDER_AGGREGATE } from '../domain/order-events';
import { loadConfigOrExit } from '../platform/config';
import { orderFromReadRow } from '../api/orders/order-views';
import { createReadCache, type ReadCache } from '../read-models/cache';
import { createDatabase, type Database } from '../platform/database';
import { appendEvents } from '../events/event-store';
import { migrate } from '../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../platform/postgres-admin';
import { projections } from '../read-models/projections';
import { recalculateDashboards } from '../read-models/seller-dashboard/recalculation';
import { measureLags } from '../read-models/projections/lag';
import { SELLER_DASHBOARD_VIEW, sellerDashboardProjection } from '../read-models/projections/seller-dashboard';
import { ordersReadProjection, type OrderReadRow } from '../read-models/projections/orders-read';
import { cacheTags } from '../read-models/projections/projection';
import { rebuildProjection } from '../read-models/projections/rebuild';
import { freePort, startEntry, type LongRunning } from '../test/support/processes';
import { quantile, round } from './support/load';
import {
  generateMarketplace,
  loadWorld,
  orderPlanner,
  seededRandom,
  type GenerationProgress,
  type PlannedOrder,
} from './support/marketplace-data';
import { writeResults } from './support/results';
import { positiveInt, progressBar } from '../platform/command-line';

/**
 * Questions, on a marketplace with a history (bench/support/marketplace-data.ts: `--products`
 * products, `--orders` orders as events in the store and rows in the write model):
 *
 * a. How long does a full rebuild of each read model take from the event store (events/s), at the
 *    configured rebuild batch size and the others of `--rebuild-batch-sizes`?
 * b. How much faster is GET /v1/orders/{id} from the read cache than from PostgreSQL? The real
 *    API (api/server.ts in its own process, on loopback; keep-alive clients, `--concurrency` of them) reads a
 *    fixed random sample of orders three ways: each id once on an empty cache (every read a miss:
 *    read model + cache fill), the same ids again (every read a hit), and an app whose REDIS_URL
 *    points where nothing listens (PostgreSQL only, the cache failing over at once). The same
 *    reads without HTTP, in this process one at a time, give the cache's own miss/hit ratio.
 * c. How many events/s does the projector (scripts/projector.ts, every projection, in its own
 *    process as in production) keep up with live, from the first append of `--live-orders` new
 *    orders (several writers, one appendEvents transaction per event, as the saga's steps append)
 *    until every projection has applied the last of them? Baseline in the same run: the relay alone
 *    (scripts/relay.ts) publishing as many events from the same writers.
 *
 * A fresh database (dropped at the end unless --keep) and Redis database `--redis-db` (flushed;
 * never 0). Results: bench/results/reads.json.
 */

interface Options {
  orders: number;
  products: number;
  sellers: number;
  customers: number;
  seed: number;
  rebuildBatchSizes: number[];
  sample: number;
  cachedRounds: number;
  concurrency: number[];
  liveOrders: number;
  writers: number;
  redisDb: number;
  keep: boolean;
  /** A database an earlier run kept: generation is skipped and the database is kept again. */
  reuseDatabase?: string;
  /** Projections to rebuild (names), or none. */
  rebuild: string[];
  /** The configured default commission, filled in from the config. */
  defaultCommissionBps: number;
}

type Figures = Record<string, number | string>;

function positiveInts(name: string) {
  return (value: string): number[] => value.split(',').map((part) => positiveInt(name)(part.trim()));
}

function projectionName(name: string): string {
  if (!projections.some((p) => p.name === name)) {
    throw new InvalidArgumentError(`${name} is not a projection (${projections.map((p) => p.name).join(', ')})`);
  }
  return name;
}

function redisDbIndex(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 15) throw new InvalidArgumentError('must be 1..15 (never 0)');
  return n;
}

async function main(options: Options): Promise<void> {
  const base = loadConfigOrExit();
  options.defaultCommissionBps = base.orders.defaultCommissionBps;
  const logger = pino({ level: 'info', base: undefined });
  const databaseUrl = databaseUrlFor(
    base.database.url,
    options.reuseDatabase ?? `shopflow_bench_reads_${randomUUID().slice(0, 8)}`,
  );
  const keep = options.keep || options.reuseDatabase !== undefined;
  const redisUrl = new URL(base.redis.url);
  redisUrl.pathname = `/${options.redisDb}`;
  await ensureDatabase(databaseUrl);
  const db = createDatabase({ database: { url: databaseUrl, poolSize: 8 } });
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  const redis = new Redis(redisUrl.toString(), { maxRetriesPerRequest: 1 });
  const bar = progressBar();
  const figures: Figures = {
    orders: options.orders,
    products: options.products,
    sellers: options.sellers,
    customers: options.customers,
    seed: options.seed,
    cpus: os.cpus().length,
    // Other processes on this machine skew every figure: reported beside them.
    load_average_1m_at_start: round(os.loadavg()[0]!, 2),
  };
  try {
    await redis.flushdb();
    await migrate(databaseUrl);
    if (options.reuseDatabase === undefined) {
      const generated = await generateMarketplace(
        db,
        pool,
        {
          sellers: options.sellers,
          products: options.products,
          customers: options.customers,
          orders: options.orders,
          seed: options.seed,
          defaultCommissionBps: options.defaultCommissionBps,
        },
        (p: GenerationProgress) => bar.show(`generate ${p.phase}`, p.done, p.total),
      );
      bar.stop();
      Object.assign(figures, {
        generate_catalogue_s: round(generated.catalogueMs / 1000, 1),
        generate_orders_s: round(generated.ordersMs / 1000, 1),
        generate_order_events_per_s: round(generated.orderEvents / (generated.ordersMs / 1000), 0),
        product_events: generated.productEvents,
      });
      logger.info({ ...generated }, 'marketplace generated');
    } else {
      figures['reused_database'] = options.reuseDatabase;
    }
    // What the database holds (also when reused: the options' sizes may not be its).
    const [counts] = (
      await pool.query<{ orders: number; products: number; events: number; order_events: number }>(
        `SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM products) AS products,
           count(*)::int AS events, count(*) FILTER (WHERE aggregate_type = 'order')::int AS order_events
         FROM domain_events`,
      )
    ).rows;
    Object.assign(figures, counts);

    await rebuildPhase(db, options, base.projections.rebuildBatchSize, figures, bar);
    await lastRebuilds(pool, figures);
    if (!options.rebuild.includes(SELLER_DASHBOARD_VIEW)) {
      figures['dashboards_from_recalculation_s'] = await dashboardsFromRecalculation(db);
    }
    await db.$executeRawUnsafe('VACUUM ANALYZE read_models.orders_read');

    const readCache = createReadCache({ redis, ttlMs: base.cache.ttlMs, logger: pino({ level: 'silent' }) });
    const apiEnv = (redisAt: string) => ({ DATABASE_URL: databaseUrl, REDIS_URL: redisAt, METRICS_ENABLED: 'true' });
    const nowhere = `redis://127.0.0.1:${await freePort()}/${options.redisDb}`;
    await readPhase(pool, db, readCache, apiEnv(redisUrl.toString()), apiEnv(nowhere), options, figures, bar);

    await redis.flushdb();
    await livePhase(db, pool, redis, { databaseUrl, redisUrl: redisUrl.toString() }, options, figures, bar);
  } finally {
    bar.stop();
    await redis.flushdb().catch(() => undefined);
    redis.disconnect();
    await pool.end();
    await db.$disconnect();
    if (!keep) await dropDatabase(databaseUrl);
    else logger.info({ databaseUrl }, 'database kept');
  }
  figures['load_average_1m_at_end'] = round(os.loadavg()[0]!, 2);
  const file = writeResults('reads', figures);
  printTable(figures);
  logger.info({ file }, 'benchmark written');
}

// ---------------------------------------------------------------------------------------------
// a. Rebuilds

async function rebuildPhase(
  db: Database,
  options: Options,
  configuredBatchSize: number,
  figures: Figures,
  bar: ReturnType<typeof progressBar>,
): Promise<void> {
  // The configured size first; the last rebuild's tables are the ones the reads then use.
  const sizes = [...new Set([configuredBatchSize, ...options.rebuildBatchSizes])];
  figures['rebuild_configured_batch_size'] = configuredBatchSize;
  for (const batchSize of sizes) {
    for (const projection of projections.filter((p) => options.rebuild.includes(p.name))) {
      const { events, ms } = await rebuildProjection({
        db,
        projection,
        batchSize,
        onProgress: (p) => bar.show(`rebuild ${projection.name} b${batchSize}`, p.applied, p.total),
      });
      bar.stop();
      const key = `rebuild_${projection.name}_b${batchSize}`;
      figures[`${key}_events`] = events;
      figures[`${key}_s`] = round(ms / 1000, 1);
      figures[`${key}_events_per_s`] = round(events / (ms / 1000), 0);
    }
  }
}

/**
 * Each projection's last rebuild as projection_status recorded it (this run's, or an earlier run's
 * on a reused database): what a partial run still reports.
 */
async function lastRebuilds(pool: Pool, figures: Figures): Promise<void> {
  const { rows } = await pool.query<{ projection: string; rebuild_events: string; rebuild_ms: number }>(
    `SELECT projection, rebuild_events::text, rebuild_ms FROM read_models.projection_status
     WHERE rebuild_ms IS NOT NULL ORDER BY projection`,
  );
  for (const row of rows) {
    figures[`last_rebuild_${row.projection}_events`] = Number(row.rebuild_events);
    figures[`last_rebuild_${row.projection}_s`] = round(row.rebuild_ms / 1000, 1);
    figures[`last_rebuild_${row.projection}_events_per_s`] = round(
      Number(row.rebuild_events) / (row.rebuild_ms / 1000),
      0,
    );
  }
}

/**
 * The seller dashboards without a rebuild (which takes far longer than the rest of the bench at
 * this size): the scheduled recalculation derives facts and rows from the write model, each fact
 * at its aggregate's latest version, and the projection's positions are set to those versions,
 * so the live phase's projector starts caught up instead of replaying the whole store.
 */
async function dashboardsFromRecalculation(db: Database): Promise<number> {
  const startedAt = performance.now();
  await recalculateDashboards({ db });
  await db.$executeRawUnsafe(
    `INSERT INTO read_models.projection_positions (projection, aggregate_id, version)
     SELECT $1, aggregate_id, max(version) FROM domain_events WHERE aggregate_type = ANY($2::text[]) GROUP BY aggregate_id
     ON CONFLICT (projection, aggregate_id) DO UPDATE SET version = EXCLUDED.version`,
    SELLER_DASHBOARD_VIEW,
    [...sellerDashboardProjection.aggregateTypes],
  );
  return round((performance.now() - startedAt) / 1000, 1);
}

// ---------------------------------------------------------------------------------------------
// b. Order reads over HTTP

interface RunningApi {
  url: string;
  /** Its /metrics, on a port of its own (API_METRICS_PORT). */
  metricsUrl: string;
  agent: Agent;
  /** An operator key: it may read every order. */
  key: string;
}

/**
 * api/server.ts (createApp as the entry point wires it) in its own process: the load generator
 * must not share the server's event loop. LOG_LEVEL warn: the per-request access log is a fixed
 * cost of every read, cached or not, and would only dilute the difference measured here.
 */
async function startApi(
  env: Record<string, string>,
  maxSockets: number,
  running: LongRunning[],
  key: string,
): Promise<RunningApi> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const api = startEntry('api/server.ts', {
    ...env,
    HOST: '127.0.0.1',
    PORT: String(port),
    API_METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'warn',
    // Measured here: reads, not the limiter (bench/ratelimit.ts and bench/api-load.ts measure that).
    RATE_LIMIT_ENABLED: 'false',
  });
  running.push(api);
  await waitForHttp(`http://127.0.0.1:${port}/health/live`, api);
  const agent = new Agent({ keepAlive: true, maxSockets });
  return {
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    agent,
    key,
  };
}

async function waitForHttp(url: string, process: LongRunning): Promise<void> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const ok = await fetch(url).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    if (process.child.exitCode !== null || performance.now() > deadline) {
      throw new Error(`the API did not start:\n${process.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function getText(api: RunningApi, pathname: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${api.key}` };
    const req = httpRequest(`${api.url}${pathname}`, { agent: api.agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface Pass {
  requests: number;
  perS: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
}

/** Every id once, by `concurrency` clients each taking the next id as soon as its last answered. */
async function readPass(api: RunningApi, ids: readonly string[], concurrency: number): Promise<Pass> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const startedAt = performance.now();
  const client = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const sentAt = performance.now();
      const { status } = await getText(api, `/v1/orders/${id}`).catch(() => ({ status: 0 }));
      latencies.push(performance.now() - sentAt);
      if (status !== 200) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    requests: ids.length,
    perS: round(ids.length / seconds, 0),
    p50: round(quantile(latencies, 0.5), 2),
    p95: round(quantile(latencies, 0.95), 2),
    p99: round(quantile(latencies, 0.99), 2),
    errors,
  };
}

/** The API's order-cache lookups by result (hit, miss, …), from its /metrics. */
async function cacheResults(api: RunningApi): Promise<Record<string, number>> {
  const body = await (await fetch(api.metricsUrl)).text();
  const results: Record<string, number> = {};
  for (const match of body.matchAll(/^shopflow_cache_requests_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (labels['kind'] === 'order') results[labels['result']!] = Number(match[2]);
  }
  return results;
}

async function readPhase(
  pool: Pool,
  db: Database,
  cache: ReadCache,
  cachedEnv: Record<string, string>,
  postgresOnlyEnv: Record<string, string>,
  options: Options,
  figures: Figures,
  bar: ReturnType<typeof progressBar>,
): Promise<void> {
  const { rows } = await pool.query<{ order_id: string }>(
    `SELECT order_id FROM read_models.orders_read ORDER BY order_id`,
  );
  const random = seededRandom(options.seed + 1);
  const ids = rows.map((r) => r.order_id);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const maxConcurrency = Math.max(...options.concurrency);
  const running: LongRunning[] = [];
  figures['read_sample_orders'] = Math.min(options.sample, ids.length);
  figures['read_cached_rounds'] = options.cachedRounds;
  try {
    const { key } = await createApiKey(db, { role: 'operator', name: 'bench/reads' });
    const cached = await startApi(cachedEnv, maxConcurrency, running, key);
    const postgresOnly = await startApi(postgresOnlyEnv, maxConcurrency, running, key);
    // Warm-up (JIT, connection pools) on ids outside every sample.
    const warmUp = ids.slice(-Math.min(500, Math.floor(ids.length / 10)));
    await readPass(cached, warmUp, 8);
    await readPass(postgresOnly, warmUp, 8);
    let offset = 0;
    for (const concurrency of options.concurrency) {
      // A fresh sample for each level: its first pass must miss every time.
      const sample = ids.slice(offset, offset + options.sample);
      offset += sample.length;
      const before = await cacheResults(cached);
      bar.show(`reads c${concurrency}`, 0, 3);
      const uncached = await readPass(cached, sample, concurrency);
      bar.show(`reads c${concurrency}`, 1, 3);
      const again = Array.from({ length: options.cachedRounds }, () => sample).flat();
      const hits = await readPass(cached, again, concurrency);
      bar.show(`reads c${concurrency}`, 2, 3);
      const pgOnly = await readPass(postgresOnly, sample, concurrency);
      bar.show(`reads c${concurrency}`, 3, 3);
      bar.stop();
      const after = await cacheResults(cached);
      const c = `c${concurrency}`;
      for (const [name, pass] of [
        ['uncached', uncached],
        ['cached', hits],
        ['postgres_only', pgOnly],
      ] as const) {
        figures[`read_${name}_${c}_requests_per_s`] = pass.perS;
        figures[`read_${name}_${c}_p50_ms`] = pass.p50;
        figures[`read_${name}_${c}_p95_ms`] = pass.p95;
        figures[`read_${name}_${c}_p99_ms`] = pass.p99;
        figures[`read_${name}_${c}_errors`] = pass.errors;
      }
      // What the cache saw (misses of the first pass, hits of the second): the passes were what they say.
      figures[`read_cache_misses_${c}`] = (after['miss'] ?? 0) - (before['miss'] ?? 0);
      figures[`read_cache_hits_${c}`] = (after['hit'] ?? 0) - (before['hit'] ?? 0);
      figures[`read_cached_vs_uncached_${c}_throughput_ratio`] = round(hits.perS / uncached.perS, 2);
      figures[`read_uncached_vs_cached_${c}_p50_ratio`] = round(uncached.p50 / hits.p50, 2);
      figures[`read_cached_vs_postgres_only_${c}_throughput_ratio`] = round(hits.perS / pgOnly.perS, 2);
    }
    await directReads(db, cache, ids.slice(offset, offset + Math.min(1_000, options.sample)), figures);
  } finally {
    for (const api of running) {
      if (api.child.exitCode === null) api.child.kill('SIGTERM');
      await api.exited;
    }
  }
}

/**
 * The same reads without HTTP, one at a time in this process: the read model's query (what a miss
 * loads), a miss through the cache (the query plus the cache's bookkeeping and fill) and a hit.
 * The ceiling of what the cache can save, before the API's per-request costs are added to both.
 */
async function directReads(db: Database, cache: ReadCache, ids: readonly string[], figures: Figures): Promise<void> {
  const load = (orderId: string) => async () => {
    const [found] = await db.$queryRawUnsafe<{ row: OrderReadRow }[]>(
      `SELECT to_jsonb(o) AS row FROM read_models.orders_read o WHERE o.order_id = $1::uuid`,
      orderId,
    );
    return found && orderFromReadRow(found.row);
  };
  const time = async (read: (id: string) => Promise<unknown>): Promise<number> => {
    const latencies: number[] = [];
    for (const id of ids) {
      const startedAt = performance.now();
      if ((await read(id)) === undefined) throw new Error(`order ${id} not found`);
      latencies.push(performance.now() - startedAt);
    }
    return round(quantile(latencies, 0.5), 3);
  };
  const tags = (id: string) => [cacheTags.order(id), cacheTags.projection(ordersReadProjection.name)];
  const query = await time((id) => load(id)());
  const miss = await time((id) => cache.get('order', id, tags(id), load(id)));
  const hit = await time((id) => cache.get('order', id, tags(id), load(id)));
  Object.assign(figures, {
    direct_orders: ids.length,
    direct_query_p50_ms: query,
    direct_cache_miss_p50_ms: miss,
    direct_cache_hit_p50_ms: hit,
    direct_miss_vs_hit_p50_ratio: round(miss / hit, 2),
  });
}

// ---------------------------------------------------------------------------------------------
// c. Live projection vs. the relay alone

interface Services {
  databaseUrl: string;
  redisUrl: string;
}

async function livePhase(
  db: Database,
  pool: Pool,
  redis: Redis,
  services: Services,
  options: Options,
  figures: Figures,
  bar: ReturnType<typeof progressBar>,
): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-bench-reads-'));
  const env = {
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // The bench's children must not take ports other processes on this machine may hold.
    METRICS_ENABLED: 'false',
  };
  const world = await loadWorld(pool, options.defaultCommissionBps);
  // New orders, placed now: the planner only gives their contents; the store stamps their time.
  const planFrom = (seed: number) => {
    const plan = orderPlanner(world, { seed, orders: options.liveOrders, endAt: new Date(), days: 1 });
    return Array.from({ length: options.liveOrders }, (_, i) => plan(i));
  };
  const running: LongRunning[] = [];
  try {
    // Baseline: the relay alone.
    const baselineOrders = planFrom(options.seed + 2);
    const relay = startChild('scripts/relay.ts', env, 'relay started', running);
    await relay.ready;
    const baseline = await appendAndWait(db, baselineOrders, options.writers, bar, 'relay only', async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox_events WHERE status <> 'PUBLISHED'`,
      );
      return rows[0]!.n === 0;
    });
    await relay.stop();
    // The projector must start on empty streams: the baseline's events reach it from the store.
    await redis.flushdb();

    const startedAt = performance.now();
    const projector = startChild('scripts/projector.ts', env, 'projector started', running);
    await projector.ready;
    figures['live_projector_start_s'] = round((performance.now() - startedAt) / 1000, 1);
    const relayAgain = startChild('scripts/relay.ts', env, 'relay started', running);
    await relayAgain.ready;

    const liveOrders = planFrom(options.seed + 3);
    const ids = liveOrders.map((o) => o.id);
    const versions = liveOrders.map((o) => o.events.length);
    const caughtUp = new Map<string, number>();
    const projectorPid = projector.pid;
    const cpuBefore = (await pidusage(projectorPid)).ctime;
    const live = await appendAndWait(db, liveOrders, options.writers, bar, 'relay + projector', async (elapsedS) => {
      const { rows } = await pool.query<{ projection: string; n: number }>(
        `SELECT p.projection, count(*)::int AS n FROM read_models.projection_positions p
         JOIN unnest($1::uuid[], $2::int[]) AS x(id, version) ON p.aggregate_id = x.id AND p.version >= x.version
         WHERE p.projection = ANY($3::text[]) GROUP BY p.projection`,
        [ids, versions, projections.map((p) => p.name)],
      );
      for (const row of rows) {
        if (row.n === ids.length && !caughtUp.has(row.projection)) caughtUp.set(row.projection, elapsedS);
      }
      return caughtUp.size === projections.length;
    });
    // Is the projector busy all the time (CPU-bound) or waiting on PostgreSQL and Redis?
    figures['live_projector_cpu_share_of_wall'] = round(
      ((await pidusage(projectorPid)).ctime - cpuBefore) / 1000 / live.seconds,
      2,
    );
    const lags = await measureLags(db, redis, projections);
    for (const lag of lags) figures[`live_${lag.projection}_lag_events_at_end`] = lag.events;

    await relayAgain.stop();
    await projector.stop();
    Object.assign(figures, {
      live_orders: options.liveOrders,
      live_writers: options.writers,
      live_events: live.events,
      relay_only_events: baseline.events,
      relay_only_append_s: round(baseline.appendS, 2),
      relay_only_s: round(baseline.seconds, 2),
      relay_only_events_per_s: round(baseline.events / baseline.seconds, 0),
      live_append_s: round(live.appendS, 2),
      live_all_projections_s: round(live.seconds, 2),
      live_all_projections_events_per_s: round(live.events / live.seconds, 0),
      live_ratio_vs_relay_only: round(live.events / live.seconds / (baseline.events / baseline.seconds), 2),
    });
    for (const [name, seconds] of caughtUp) {
      figures[`live_${name}_s`] = round(seconds, 2);
      figures[`live_${name}_events_per_s`] = round(live.events / seconds, 0);
    }
  } finally {
    for (const child of running) {
      if (child.child.exitCode === null) child.child.kill('SIGTERM');
      await child.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * `writers` concurrent writers append the orders' events, each order's events one transaction per
 * event; then `done` is polled. Timed from the first append to `done` answering true.
 */
async function appendAndWait(
  db: Database,
  orders: PlannedOrder[],
  writers: number,
  bar: ReturnType<typeof progressBar>,
  phase: string,
  done: (elapsedS: number) => Promise<boolean>,
): Promise<{ events: number; appendS: number; seconds: number }> {
  const events = orders.reduce((sum, o) => sum + o.events.length, 0);
  let next = 0;
  let appended = 0;
  const startedAt = performance.now();
  const writer = async (): Promise<void> => {
    while (next < orders.length) {
      const order = orders[next++]!;
      for (const event of order.events) {
        await db.$transaction(async (tx) => {
          await appendEvents(tx, {
            aggregateType: ORDER_AGGREGATE,
            aggregateId: order.id,
            expectedVersion: event.version - 1,
            events: [{ type: event.type, payload: event.payload }],
            correlation: { causationKey: `bench:${order.id}:${event.version}`, workflowId: `order-${order.id}` },
          });
        });
        appended += 1;
        if (appended % 500 === 0) bar.show(`${phase} (append)`, appended, events);
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  const appendS = (performance.now() - startedAt) / 1000;
  bar.stop();
  const deadline = performance.now() + 600_000;
  for (;;) {
    const elapsedS = (performance.now() - startedAt) / 1000;
    if (await done(elapsedS)) return { events, appendS, seconds: (performance.now() - startedAt) / 1000 };
    if (performance.now() > deadline) throw new Error(`${phase}: not done 10 minutes after the first append`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Child {
  pid: number;
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** An entry point in its own process, as in production; ready when it prints `readyText`. */
function startChild(entry: string, env: Record<string, string>, readyText: string, running: LongRunning[]): Child {
  const child = startEntry(entry, env);
  running.push(child);
  return {
    pid: child.child.pid!,
    ready: child.waitForOutput(readyText, 300_000),
    async stop() {
      child.child.kill('SIGTERM');
      await child.exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------

function printTable(figures: Figures): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  const lines = Object.entries(figures).map(([name, value]) => `  ${name.padEnd(width)}  ${value}`);
  process.stdout.write(`\nbench:reads\n${lines.join('\n')}\n\n`);
}

new Command('bench:reads')
  .description(
    'Read side: full rebuild time per projection, cached vs. uncached GET /v1/orders/{id} over HTTP, ' +
      'and live projector throughput vs. the relay alone, on a generated marketplace.',
  )
  .option('--orders <n>', 'historical orders (as events and write-model rows)', positiveInt('--orders'), 200_000)
  .option('--products <n>', 'products in the catalogue', positiveInt('--products'), 100_000)
  .option('--sellers <n>', 'sellers', positiveInt('--sellers'), 500)
  .option('--customers <n>', 'customers', positiveInt('--customers'), 20_000)
  .option('--seed <n>', 'seed of the generated data and samples', positiveInt('--seed'), 8)
  .option(
    '--rebuild-batch-sizes <n,…>',
    'rebuild batch sizes to time besides the configured one (each rebuilds every projection again)',
    positiveInts('--rebuild-batch-sizes'),
    [],
  )
  .option('--sample <n>', 'orders read per concurrency level', positiveInt('--sample'), 2_000)
  .option('--cached-rounds <n>', 'times the cached pass reads the sample', positiveInt('--cached-rounds'), 3)
  .option('--concurrency <n,…>', 'concurrent HTTP clients', positiveInts('--concurrency'), [8, 32])
  .option('--live-orders <n>', 'new orders appended in the live phase', positiveInt('--live-orders'), 1_000)
  .option('--writers <n>', 'concurrent writers appending them', positiveInt('--writers'), 8)
  .option('--redis-db <index>', 'Redis database to use and flush (never 0)', redisDbIndex, 8)
  .option('--keep', 'keep the bench database (its URL is logged)', false)
  .option('--reuse-database <name>', 'run on a database an earlier --keep run generated (no generation; kept)')
  .option(
    '--rebuild <names>',
    `projections to rebuild, comma-separated, or none (default: all: ${projections.map((p) => p.name).join(',')})`,
    (value: string) => (value === 'none' ? [] : value.split(',').map((name) => projectionName(name.trim()))),
    projections.map((p) => p.name),
  )
  .action((options: Options) => main(options))
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(`bench:reads: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
