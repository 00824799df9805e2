import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Command, InvalidArgumentError } from 'commander';
import { Redis } from 'ioredis';
import pino from 'pino';
import { CONSISTENCY_HEADER } from '../api/http/read-consistency';
import { createApiKey } from '../access/api-keys';
import { seedCatalogue } from '../catalogue/seed';
import { configDefaults, loadConfigOrExit, type ConfigVariable } from '../platform/config';
import { createDatabase, type Database } from '../platform/database';
import { migrate } from '../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../platform/postgres-admin';
import { ensureTemporalCli } from '../dev/temporal-cli';
import { startEphemeralDevServer } from '../test/support/dev-server';
import { freePort, startEntry, type LongRunning } from '../test/support/processes';
import { quantile, round } from './support/load';
import { pickAny, randomOrderRequest } from './support/random-order';
import { writeResults } from './support/results';
import { positiveInt } from '../platform/command-line';

/**
 * Question: what does the whole API sustain under a steady mixed load from one client machine
 * (throughput, p50/p99 latency, errors), with the rate limits raised out of the way, and what does
 * the same load get with limits on that it exceeds (`limitedLimits`): 429s for the excess, never a 5xx?
 *
 * Everything runs as in production, each in its own process on loopback: api/server.ts, the worker
 * (worker/main.ts, so the sagas progress), the outbox relay and the projector (the read models the
 * reads use), an in-memory Temporal dev server; a fresh database and Redis database `--redis-db`
 * (flushed). The load (autocannon, `--connections` keep-alive connections, closed loop) is a mix:
 * `--write-share` order submissions by customer keys (each with a new Idempotency-Key), the rest
 * reads by the same customers: one of their orders, their order list, a product search.
 *
 * Both phases run the same mix for `--duration` seconds after a short warm-up, each on a fresh API
 * process; between them the worker drains the orders the first phase accepted, so the second does
 * not pay for the first's backlog. Then a flood of well-formed made-up keys for `--flood-duration`
 * seconds (madeUpKeyFlood): the requests per second the API absorbs and the database lookups per
 * request, with the shipped limits and without. Results: bench/results/api-load.json.
 */

interface Options {
  duration: number;
  connections: number;
  writeShare: number;
  customers: number;
  products: number;
  callers: number;
  redisDb: number;
  settleTimeout: number;
  limitedShare: number;
  floodDuration: number;
}

type Figures = Record<string, number | string>;

const kinds = ['submit_order', 'read_order', 'list_orders', 'search'] as const;
type Kind = (typeof kinds)[number];

/** How the reads share what is left after the writes. */
const readMix: [Kind, number][] = [
  ['read_order', 0.4],
  ['list_orders', 0.3],
  ['search', 0.3],
];

/** Orders each caller has before the load starts, so every read of "one of my orders" has one to read. */
const PREPLACED_ORDERS_PER_CALLER = 2;
const WARM_UP_S = 5;

const limitVariables = (['READ', 'WRITE', 'ORDER_WRITE'] as const).flatMap(
  (routeClass) =>
    [
      `RATE_LIMIT_${routeClass}_BURST`,
      `RATE_LIMIT_${routeClass}_PER_S`,
      `RATE_LIMIT_${routeClass}_IP_BURST`,
      `RATE_LIMIT_${routeClass}_IP_PER_S`,
    ] as const satisfies readonly ConfigVariable[],
);
type Limits = Record<(typeof limitVariables)[number], number>;

/** The schema's maximum: the limiter still runs (its cost is measured) but refuses nothing. */
const raisedLimits = Object.fromEntries(limitVariables.map((name) => [name, 1_000_000])) as Limits;
/** Explicit, so a RATE_LIMIT_* in the caller's shell cannot change what "shipped defaults" means. */
const shippedLimits = Object.fromEntries(limitVariables.map((name) => [name, Number(configDefaults[name])])) as Limits;

/**
 * The limited phase: the shipped limits, with the client IP's read and order-write rates lowered
 * to `share` of what the raised phase served, where that is below the shipped rate. The whole load
 * comes from one IP, and on a slow machine it may not reach the shipped per-IP rates at all: a
 * phase that refused nothing would show nothing. Bursts: one second's worth, never above shipped.
 */
function limitedLimits(share: number, raised: { readsPerS: number; ordersPerS: number }): Limits {
  const lowered = (perS: number, burst: number, served: number) => {
    const rate = Math.min(perS, Math.max(0.1, round(served * share, 1)));
    return [rate, Math.min(burst, Math.max(1, Math.round(rate)))] as const;
  };
  const [readPerS, readBurst] = lowered(
    shippedLimits.RATE_LIMIT_READ_IP_PER_S,
    shippedLimits.RATE_LIMIT_READ_IP_BURST,
    raised.readsPerS,
  );
  const [orderPerS, orderBurst] = lowered(
    shippedLimits.RATE_LIMIT_ORDER_WRITE_IP_PER_S,
    shippedLimits.RATE_LIMIT_ORDER_WRITE_IP_BURST,
    raised.ordersPerS,
  );
  return {
    ...shippedLimits,
    RATE_LIMIT_READ_IP_PER_S: readPerS,
    RATE_LIMIT_READ_IP_BURST: readBurst,
    RATE_LIMIT_ORDER_WRITE_IP_PER_S: orderPerS,
    RATE_LIMIT_ORDER_WRITE_IP_BURST: orderBurst,
  };
}

interface Caller {
  customerId: string;
  key: string;
  orderIds: string[];
}

interface World {
  callers: Caller[];
  productIds: string[];
  searchWords: string[];
}

/** Responses by kind of request: count per status and latencies, as the load generator saw them. */
type Tally = Record<Kind, { statuses: Map<number, number>; latenciesMs: number[]; fallbacks: number }>;

interface RequestContext {
  kind: Kind;
  caller: Caller;
  /** When the request was built: autocannon builds each request just before it writes it. */
  sentAt: number;
}

function share(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be between 0 and 1');
  return n;
}

function redisDbIndex(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 15) throw new InvalidArgumentError('must be 1..15 (never 0)');
  return n;
}

const say = (message: string): boolean => process.stderr.write(`api-load: ${message}\n`);

async function main(options: Options): Promise<void> {
  const base = loadConfigOrExit();
  const figures: Figures = {
    duration_s: options.duration,
    connections: options.connections,
    write_share: options.writeShare,
    callers: options.callers,
    products: options.products,
    cpus: os.cpus().length,
    // Other processes on this machine skew every figure: reported beside them.
    load_average_1m_start: round(os.loadavg()[0]!, 2),
  };
  const databaseUrl = databaseUrlFor(base.database.url, `shopflow_bench_load_${randomUUID().slice(0, 8)}`);
  const redisUrl = new URL(base.redis.url);
  redisUrl.pathname = `/${options.redisDb}`;
  const redis = new Redis(redisUrl.toString(), { maxRetriesPerRequest: 1 });
  const logsDir = mkdtempSync(path.join(tmpdir(), 'shopflow-bench-api-load-'));
  const running = new Map<string, LongRunning>();
  let keepLogs = true;

  const cliPath = await ensureTemporalCli(pino({ level: 'warn' }, pino.destination(2)), base.temporal.cliPath);
  const temporal = await startEphemeralDevServer(cliPath);
  const db = createDatabase({ database: { url: databaseUrl, poolSize: 4 } });
  try {
    await ensureDatabase(databaseUrl);
    await redis.flushdb();
    say('migrating and seeding');
    await migrate(databaseUrl);
    await seedCatalogue(db, {
      sellers: 10,
      products: options.products,
      customers: options.customers,
      maxStock: 1,
      currency: 'EUR',
      seed: 9,
    });
    // Out-of-stock failures would make the sagas cheaper than real ones.
    await db.inventory.updateMany({ data: { onHand: 10_000_000 } });

    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl.toString(),
      TEMPORAL_ADDRESS: temporal.address,
      DATA_DIR: logsDir,
      // The bench's children must not take ports other processes on this machine may hold.
      METRICS_ENABLED: 'false',
    };
    say('starting projector, relay and worker');
    const start = (name: string, entry: string, readyText: string) => {
      const child = startEntry(entry, env);
      running.set(name, child);
      return child.waitForOutput(readyText, 300_000);
    };
    // The projector first: it must see the catalogue's events the relay publishes.
    await start('projector', 'scripts/projector.ts', 'projector started');
    await start('relay', 'scripts/relay.ts', 'relay started');
    await start('worker', 'worker/main.ts', 'worker started');
    await waitFor('the product search read model', 120_000, async () => {
      const [row] = await db.$queryRawUnsafe<{ n: number }[]>(
        'SELECT count(*)::int AS n FROM read_models.product_search_view',
      );
      return row!.n >= options.products;
    });

    const world = await prepareWorld(db, options.callers);
    const operator = (await createApiKey(db, { role: 'operator', name: 'bench/api-load' })).key;
    let accepted = 0;
    let limits = raisedLimits;

    for (const phase of ['raised', 'limited'] as const) {
      await clearBuckets(redis);
      const api = await startApi(env, limits, running, phase);
      if (phase === 'raised') {
        say(`placing ${PREPLACED_ORDERS_PER_CALLER} orders for each of ${world.callers.length} callers`);
        accepted += await preplaceOrders(api, operator, world);
        figures['preplaced_orders'] = accepted;
      }
      const warmUpS = Math.min(WARM_UP_S, options.duration);
      say(`${phase}: warm-up ${warmUpS} s`);
      const warmUp = emptyTally();
      await runLoad(api, world, { ...options, duration: warmUpS }, warmUp);
      accepted += countOf(warmUp, 'submit_order', 202);
      // The warm-up must not have spent the phase's tokens.
      await clearBuckets(redis);

      say(`${phase}: ${options.duration} s of load on ${options.connections} connections`);
      const tally = emptyTally();
      const result = await runLoad(api, world, options, tally, (elapsedS) =>
        say(`${phase}: ${elapsedS}/${options.duration} s, ${totalOf(tally)} responses`),
      );
      const submitted = countOf(tally, 'submit_order', 202);
      accepted += submitted;
      Object.assign(figures, phaseFigures(phase, result, tally, submitted));
      if (phase === 'raised') {
        const readsPerS = (result.requests.total - requestsOf(tally, 'submit_order')) / result.duration;
        limits = limitedLimits(options.limitedShare, {
          readsPerS,
          ordersPerS: requestsOf(tally, 'submit_order') / result.duration,
        });
        for (const name of limitVariables) figures[`limited_${name.toLowerCase()}`] = limits[name];
      }
      await stopChild(running, `api-${phase}`);

      say(`${phase}: waiting for the worker to finish the ${accepted} orders accepted so far`);
      const drainS = await drained(db, accepted, options.settleTimeout * 1000);
      figures[`${phase}_backlog_drain_s`] = drainS ?? `over ${options.settleTimeout}`;
    }
    figures['ratio_limited_vs_raised_throughput'] = round(
      (figures['limited_requests_per_s'] as number) / (figures['raised_requests_per_s'] as number),
      2,
    );
    figures['ratio_limited_vs_raised_2xx_throughput'] = round(
      (figures['limited_2xx_per_s'] as number) / (figures['raised_2xx_per_s'] as number),
      2,
    );
    Object.assign(
      figures,
      await madeUpKeyFlood(env, running, redis, { connections: options.connections, duration: options.floodDuration }),
    );
    keepLogs = ['raised', 'limited', 'made_up_keys_limited', 'made_up_keys_unlimited'].some(
      (phase) => (figures[`${phase}_count_5xx`] as number) > 0,
    );
  } finally {
    for (const name of [...running.keys()]) await stopChild(running, name);
    for (const [name, child] of running) writeFileSync(path.join(logsDir, `${name}.log`), child.output());
    await temporal.teardown();
    await redis.flushdb().catch(() => undefined);
    redis.disconnect();
    await db.$disconnect();
    await dropDatabase(databaseUrl);
    if (keepLogs) say(`process logs kept in ${logsDir}`);
    else rmSync(logsDir, { recursive: true, force: true });
  }
  figures['load_average_1m_end'] = round(os.loadavg()[0]!, 2);
  const file = writeResults('api-load', figures);
  printTable(figures);
  say(`written to ${file}`);
}

/** Customer keys for `callers` customers, and the words the searches use (from product names). */
async function prepareWorld(db: Database, callers: number): Promise<World> {
  const customers = await db.customer.findMany({ select: { id: true }, orderBy: { id: 'asc' }, take: callers });
  const products = await db.product.findMany({ select: { id: true, name: true } });
  const withKeys: Caller[] = [];
  for (const customer of customers) {
    const { key } = await createApiKey(db, { role: 'customer', customerId: customer.id, name: 'bench/api-load' });
    withKeys.push({ customerId: customer.id, key, orderIds: [] });
  }
  const words = new Set(products.flatMap((p) => p.name.toLowerCase().split(/[^a-z]+/)).filter((w) => w.length >= 4));
  return { callers: withKeys, productIds: products.map((p) => p.id), searchWords: [...words].slice(0, 50) };
}

function orderBody(world: World): string {
  return JSON.stringify(randomOrderRequest(world.productIds));
}

function pickKind(writeShare: number): Kind {
  let r = Math.random();
  if (r < writeShare) return 'submit_order';
  r = (r - writeShare) / (1 - writeShare);
  for (const [kind, weight] of readMix) {
    if (r < weight) return kind;
    r -= weight;
  }
  return readMix[readMix.length - 1]![0];
}

/** One request of the mix, for a random caller; its kind and caller stay in the connection's context. */
function nextRequest(world: World, writeShare: number, request: autocannon.Request, context: RequestContext) {
  const kind = pickKind(writeShare);
  const caller = pickAny(world.callers);
  context.kind = kind;
  context.caller = caller;
  context.sentAt = performance.now();
  const headers = { authorization: `Bearer ${caller.key}` };
  switch (kind) {
    case 'submit_order':
      return {
        ...request,
        method: 'POST' as const,
        path: '/v1/orders',
        headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: orderBody(world),
      };
    case 'read_order':
      return { ...request, method: 'GET' as const, path: `/v1/orders/${pickAny(caller.orderIds)}`, headers };
    case 'list_orders':
      return {
        ...request,
        method: 'GET' as const,
        path: `/v1/customers/${caller.customerId}/orders?limit=20`,
        headers,
      };
    case 'search':
      return {
        ...request,
        method: 'GET' as const,
        path: `/v1/products/search?q=${encodeURIComponent(pickAny(world.searchWords))}`,
        headers,
      };
  }
}

interface RunningApi {
  url: string;
  /** Its /metrics (API_METRICS_PORT). */
  metricsUrl: string;
}

async function runLoad(
  api: RunningApi,
  world: World,
  options: Pick<Options, 'duration' | 'connections' | 'writeShare'>,
  tally: Tally,
  onProgress?: (elapsedS: number) => void,
): Promise<autocannon.Result> {
  const startedAt = performance.now();
  const progress =
    onProgress && setInterval(() => onProgress(Math.round((performance.now() - startedAt) / 1000)), 10_000);
  try {
    return await new Promise<autocannon.Result>((resolve, reject) => {
      autocannon(
        {
          url: api.url,
          connections: options.connections,
          duration: options.duration,
          requests: [
            {
              setupRequest: (request, context) =>
                nextRequest(world, options.writeShare, request, context as RequestContext),
              onResponse: (status, body, context, headers) => {
                const { kind, caller, sentAt } = context as RequestContext;
                const seen = tally[kind];
                seen.statuses.set(status, countOf(tally, kind, status) + 1);
                if (status < 300) seen.latenciesMs.push(performance.now() - sentAt);
                if (consistencyOf(headers) === 'fallback') seen.fallbacks += 1;
                // Later reads of "one of my orders" include the ones this load placed.
                if (kind === 'submit_order' && status === 202) caller.orderIds.push(readOrderId(body));
              },
            },
          ],
        },
        (error: Error | null, result) => (error ? reject(error) : resolve(result)),
      );
    });
  } finally {
    clearInterval(progress);
  }
}

function readOrderId(body: string): string {
  const { orderId } = JSON.parse(body) as { orderId?: unknown };
  if (typeof orderId !== 'string') throw new Error(`202 without an orderId: ${body}`);
  return orderId;
}

function phaseFigures(phase: string, result: autocannon.Result, tally: Tally, submitted: number): Figures {
  const seconds = result.duration;
  const count429 = kinds.reduce((sum, kind) => sum + countOf(tally, kind, 429), 0);
  const figures: Figures = {
    [`${phase}_requests`]: result.requests.total,
    [`${phase}_requests_per_s`]: round(result.requests.total / seconds, 1),
    [`${phase}_2xx_per_s`]: round(result['2xx'] / seconds, 1),
    [`${phase}_p50_ms`]: result.latency.p50,
    [`${phase}_p90_ms`]: result.latency.p90,
    [`${phase}_p99_ms`]: result.latency.p99,
    [`${phase}_max_ms`]: result.latency.max,
    [`${phase}_non_2xx`]: result.non2xx,
    [`${phase}_count_429`]: count429,
    // 4xx other than 429 mean the load itself is wrong (a bad body, someone else's order).
    [`${phase}_count_4xx_not_429`]: result['4xx'] - count429,
    [`${phase}_count_5xx`]: result['5xx'],
    [`${phase}_errors`]: result.errors,
    [`${phase}_timeouts`]: result.timeouts,
    [`${phase}_orders_submitted`]: submitted,
    [`${phase}_orders_per_s`]: round(submitted / seconds, 1),
  };
  for (const kind of kinds) {
    const { latenciesMs } = tally[kind];
    figures[`${phase}_${kind}_requests`] = requestsOf(tally, kind);
    figures[`${phase}_${kind}_2xx`] = latenciesMs.length;
    figures[`${phase}_${kind}_429`] = countOf(tally, kind, 429);
    if (kind === 'read_order') figures[`${phase}_read_order_not_from_read_model`] = tally[kind].fallbacks;
    // Of the answered requests only: in the limited phase, quick 429s would hide what serving costs.
    figures[`${phase}_${kind}_2xx_p50_ms`] = round(quantile(latenciesMs, 0.5), 1);
    figures[`${phase}_${kind}_2xx_p99_ms`] = round(quantile(latenciesMs, 0.99), 1);
  }
  return figures;
}

const emptyTally = (): Tally =>
  Object.fromEntries(
    kinds.map((kind) => [kind, { statuses: new Map<number, number>(), latenciesMs: [] as number[], fallbacks: 0 }]),
  ) as Tally;

/**
 * An order read the read model could not answer (it had not caught up): served from the order's
 * events or the workflow instead (api/orders/order-read-routes.ts), which costs more.
 */
function consistencyOf(headers: autocannon.Request['headers']): string | undefined {
  const entry = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === CONSISTENCY_HEADER.toLowerCase());
  return entry && String(entry[1]);
}
const countOf = (tally: Tally, kind: Kind, status: number): number => tally[kind].statuses.get(status) ?? 0;
const requestsOf = (tally: Tally, kind: Kind): number => [...tally[kind].statuses.values()].reduce((a, b) => a + b, 0);
const totalOf = (tally: Tally): number => kinds.reduce((sum, kind) => sum + requestsOf(tally, kind), 0);

/**
 * api/server.ts in its own process: the load generator must not share its event loop. LOG_LEVEL
 * warn: the per-request access log would only add a fixed cost; failures (5xx) still log at error.
 */
async function startApi(
  env: Record<string, string>,
  limits: Limits,
  running: Map<string, LongRunning>,
  phase: string,
  extraEnv: Record<string, string> = {},
): Promise<RunningApi> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const api = startEntry('api/server.ts', {
    ...env,
    ...Object.fromEntries(Object.entries(limits).map(([name, value]) => [name, String(value)])),
    HOST: '127.0.0.1',
    PORT: String(port),
    API_METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_ENABLED: 'true',
    ...extraEnv,
  });
  running.set(`api-${phase}`, api);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the API', 120_000, async () => {
    if (api.child.exitCode !== null) throw new Error(`the API exited:\n${api.output()}`);
    return fetch(`${url}/health/live`).then(
      (res) => res.ok,
      () => false,
    );
  });
  return { url, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

/**
 * A flood of well-formed made-up API keys (a new one on every request, so no cache can answer) at
 * GET /v1/orders/{id}, from this one address, on a fresh API process: with the shipped limits (the
 * IP's token is taken before a key is looked up: api/access/rate-limit.ts, beforeKeyLookup), and
 * with rate limiting off, where every request is a lookup (the cost the limits save). Requests per
 * second the API absorbs, their answers, and database lookups per request from the API's
 * `shopflow_api_key_lookups_total`.
 */
async function madeUpKeyFlood(
  env: Record<string, string>,
  running: Map<string, LongRunning>,
  redis: Redis,
  options: Pick<Options, 'connections'> & { duration: number },
): Promise<Figures> {
  const figures: Figures = {};
  for (const mode of ['limited', 'unlimited'] as const) {
    await clearBuckets(redis);
    const phase = `made_up_keys_${mode}`;
    // Its metrics (on the free port startApi gives it) count the lookups.
    const api = await startApi(env, shippedLimits, running, phase, {
      METRICS_ENABLED: 'true',
      ...(mode === 'unlimited' ? { RATE_LIMIT_ENABLED: 'false' } : {}),
    });
    say(`${phase}: ${options.duration} s of made-up keys on ${options.connections} connections`);
    const statuses = new Map<number, number>();
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      autocannon(
        {
          url: api.url,
          connections: options.connections,
          duration: options.duration,
          requests: [
            {
              setupRequest: (request) => ({
                ...request,
                method: 'GET',
                path: `/v1/orders/${randomUUID()}`,
                headers: {
                  authorization: `Bearer sfk_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`,
                },
              }),
              onResponse: (status) => void statuses.set(status, (statuses.get(status) ?? 0) + 1),
            },
          ],
        },
        (error: Error | null, done) => (error ? reject(error) : resolve(done)),
      );
    });
    const metrics = await (await fetch(api.metricsUrl)).text();
    const lookups = Number(/^shopflow_api_key_lookups_total(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1] ?? 0);
    const total = result.requests.total;
    Object.assign(figures, {
      [`${phase}_requests_per_s`]: round(total / result.duration, 1),
      [`${phase}_p50_ms`]: result.latency.p50,
      [`${phase}_p99_ms`]: result.latency.p99,
      [`${phase}_count_401`]: statuses.get(401) ?? 0,
      [`${phase}_count_429`]: statuses.get(429) ?? 0,
      [`${phase}_count_5xx`]: result['5xx'],
      [`${phase}_errors`]: result.errors,
      [`${phase}_db_lookups`]: lookups,
      [`${phase}_db_lookups_per_request`]: total > 0 ? round(lookups / total, 4) : 0,
    });
    await stopChild(running, `api-${phase}`);
  }
  figures['made_up_keys_ratio_lookups_limited_vs_unlimited'] = round(
    (figures['made_up_keys_limited_db_lookups_per_request'] as number) /
      Math.max(figures['made_up_keys_unlimited_db_lookups_per_request'] as number, 1e-9),
    4,
  );
  return figures;
}

/** Orders for every caller, placed by the operator in their name, `PREPLACED_ORDERS_PER_CALLER` each. */
async function preplaceOrders(api: RunningApi, operatorKey: string, world: World): Promise<number> {
  const queue = world.callers.flatMap((caller) => Array.from({ length: PREPLACED_ORDERS_PER_CALLER }, () => caller));
  const place = async (): Promise<void> => {
    for (let caller = queue.pop(); caller; caller = queue.pop()) {
      const body = { ...(JSON.parse(orderBody(world)) as object), customerId: caller.customerId };
      const response = await fetch(`${api.url}/v1/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${operatorKey}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status !== 202) throw new Error(`placing an order: HTTP ${response.status}: ${text}`);
      caller.orderIds.push(readOrderId(text));
    }
  };
  await Promise.all(Array.from({ length: 8 }, place));
  return world.callers.reduce((sum, caller) => sum + caller.orderIds.length, 0);
}

/**
 * Seconds until the write model holds every accepted order and none is mid-saga (each is SHIPPED,
 * waiting for delivery, or ended); undefined when that takes longer than `timeoutMs`.
 */
async function drained(db: Database, accepted: number, timeoutMs: number): Promise<number | undefined> {
  const startedAt = performance.now();
  try {
    await waitFor('the orders backlog', timeoutMs, async () => {
      const [row] = await db.$queryRawUnsafe<{ total: number; busy: number }[]>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE status IN ('PENDING', 'INVENTORY_RESERVED', 'PAID'))::int AS busy
         FROM orders`,
      );
      return row!.total >= accepted && row!.busy === 0;
    });
  } catch {
    say(`the worker did not finish the backlog within ${timeoutMs / 1000} s`);
    return undefined;
  }
  return round((performance.now() - startedAt) / 1000, 1);
}

/** Empties every rate-limit bucket, so a phase starts with full ones. */
async function clearBuckets(redis: Redis): Promise<void> {
  const keys = await redis.keys('{shopflow:ratelimit}:*');
  if (keys.length > 0) await redis.del(...keys);
}

async function waitFor(what: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ready())) {
    if (performance.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function stopChild(running: Map<string, LongRunning>, name: string): Promise<void> {
  const child = running.get(name);
  if (!child || child.child.exitCode !== null || child.child.signalCode !== null) return;
  child.child.kill('SIGTERM');
  const stopped = await Promise.race([
    child.exited.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000)),
  ]);
  if (!stopped) {
    child.child.kill('SIGKILL');
    await child.exited;
  }
}

function printTable(figures: Figures): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  const lines = Object.entries(figures).map(([name, value]) => `  ${name.padEnd(width)}  ${value}`);
  process.stdout.write(`\nbench:api-load\n${lines.join('\n')}\n\n`);
}

new Command('bench:api-load')
  .description(
    'Steady mixed load (order submissions and reads) on the API over loopback: throughput, p50/p99 and errors ' +
      'with rate limits raised, then the same load with limits on that it exceeds (429s, no 5xx).',
  )
  .option('--duration <seconds>', 'seconds of load per phase', positiveInt('--duration'), 60)
  .option('--connections <n>', 'concurrent keep-alive connections', positiveInt('--connections'), 24)
  .option('--write-share <0..1>', 'share of requests that submit an order', share, 0.2)
  .option('--callers <n>', 'customers with an API key that send the load', positiveInt('--callers'), 50)
  .option('--customers <n>', 'customers in the catalogue', positiveInt('--customers'), 200)
  .option('--products <n>', 'products in the catalogue', positiveInt('--products'), 200)
  .option('--redis-db <index>', 'Redis database to use and flush (never 0)', redisDbIndex, 3)
  .option(
    '--settle-timeout <seconds>',
    'longest wait after a phase for the worker to finish the accepted orders',
    positiveInt('--settle-timeout'),
    300,
  )
  .option(
    '--limited-share <0..1>',
    "limited phase: per-IP read and order rates at this share of the raised phase's (never above shipped)",
    share,
    0.5,
  )
  .option(
    '--flood-duration <seconds>',
    'seconds of the made-up key flood, with the shipped limits and with limits off',
    positiveInt('--flood-duration'),
    15,
  )
  .action((options: Options) => main(options))
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(`bench:api-load: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
