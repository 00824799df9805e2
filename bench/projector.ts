import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { seedCatalogue } from '../catalogue/seed';
import { loadConfigOrExit } from '../platform/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import type { Database } from '../platform/database';
import { migrate } from '../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../platform/postgres-admin';
import { appendOrderEvents, lifecycle, type HistoryLine } from '../test/support/order-history';
import { freePort, repoRoot, startEntry, startNode, type LongRunning } from '../test/support/processes';
import { quantile, round } from './support/load';
import { ReadModelDrain } from './support/read-model-drain';
import { writeResults } from './support/results';
import { parseWholeNumber } from '../platform/command-line';

/**
 * Question: what does the projector (scripts/projector.ts, its own process as in production) cost
 * per order while orders flow at a steady rate: its CPU, the PostgreSQL backends' CPU serving it,
 * PostgreSQL transactions and Redis commands, and how long an order's last event takes to show in
 * orders_read?
 *
 * Set-up: a fresh database (dropped at the end) with a seeded catalogue, a private redis-server on
 * a free port (so INFO commandstats counts nothing but this benchmark), and the real relay
 * (scripts/relay.ts) as a process. Orders are appended through the event store (the test helper
 * appendOrderEvents: one transaction per event, as the saga's steps do) at `--rate` orders per
 * second, each order's six events (OrderPlaced, InventoryReserved, PaymentCaptured,
 * ShipmentsCreated, ShipmentDelivered, OrderDelivered) `--step-ms` apart.
 *
 * Two phases of `--orders` orders each: A with the relay only, B with the relay and the projector.
 * The projector's transactions and Redis commands are B minus A (minus the benchmark's own
 * transactions, which it counts); its CPU is read from /proc/<pid>/stat, and the CPU of the
 * PostgreSQL backends serving it (application_name) likewise. Phase B ends when every projection
 * holds every order's last version.
 */

interface Options {
  orders: number;
  rate: number;
  stepMs: number;
  profile?: string;
  keep: boolean;
}

const CLOCK_TICK_MS = 10; // sysconf(_SC_CLK_TCK) = 100 on Linux
const EVENTS_PER_ORDER = 6;
/** PostgreSQL 15 backends flush their statistics when idle, at the latest after 10 s. */
const STATS_FLUSH_MS = 11_000;

/** utime + stime of a process, in ms; 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
  } catch {
    return 0;
  }
}

/** Follows the CPU of the PostgreSQL backends of one application (backends come and go with the pool). */
class BackendCpu {
  private readonly start = new Map<number, number>();
  private readonly last = new Map<number, number>();
  constructor(
    private readonly db: Database,
    private readonly database: string,
    private readonly application: string,
  ) {}
  /** Queries run, so that the caller can take them off the database's transaction count. */
  queries = 0;
  async sample(): Promise<void> {
    this.queries += 1;
    const rows = await this.db.$queryRawUnsafe<{ pid: number }[]>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`,
      this.database,
      this.application,
    );
    for (const { pid } of rows) {
      const now = cpuMs(pid);
      if (!this.start.has(pid)) this.start.set(pid, now);
      if (now > 0) this.last.set(pid, now);
    }
  }
  /** CPU since the first sample of each backend (one seen only late counts from then on). */
  totalMs(): number {
    let total = 0;
    for (const [pid, first] of this.start) total += (this.last.get(pid) ?? first) - first;
    return total;
  }
}

async function xacts(db: Database, database: string): Promise<number> {
  const [row] = await db.$queryRawUnsafe<{ n: bigint }[]>(
    `SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = $1`,
    database,
  );
  return Number(row!.n);
}

/** Calls per command (INFO itself left out); commands run by Lua scripts count too. */
async function redisCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

async function redisCommands(redis: Redis): Promise<number> {
  return [...(await redisCalls(redis)).values()].reduce((a, b) => a + b, 0);
}

/** The projector's live transactions so far, from its /metrics (0 before the counter exists). */
async function projectorTransactions(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = /^shopflow_projector_live_transactions_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    const tryIt = (): void => {
      probe
        .connect()
        .then(() => probe.ping())
        .then(() => {
          probe.disconnect();
          resolve(child);
        })
        .catch(() => {
          if (Date.now() > deadline) reject(new Error('redis-server did not start'));
          else setTimeout(tryIt, 100);
        });
    };
    tryIt();
  });
}

/** scripts/projector.ts as startEntry runs it, with --cpu-prof when asked (not allowed in NODE_OPTIONS). */
function startProjector(env: Record<string, string>, profileDir: string | undefined): LongRunning {
  if (!profileDir) return startEntry('scripts/projector.ts', env);
  const entry = path.join(repoRoot, 'scripts/projector.ts');
  return startNode(['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--import', 'tsx', entry], env, 'the projector');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(options: Options): Promise<void> {
  const base = loadConfigOrExit();
  const databaseName = `shopflow_bench_projector_${randomUUID().slice(0, 8)}`;
  const databaseUrl = databaseUrlFor(base.database.url, databaseName);
  const withApp = (name: string): string => {
    const url = new URL(databaseUrl);
    url.searchParams.set('application_name', name);
    return url.toString();
  };
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  const drain = await ReadModelDrain.connect(databaseUrl);
  const redisPort = await freePort();
  const redisServer = await startRedis(redisPort);
  const redisUrl = `redis://127.0.0.1:${redisPort}/0`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  // The benchmark's own client waits long for a connection: the shared machine can be very busy.
  const db: Database = new PrismaClient({
    adapter: new PrismaPg({ connectionString: withApp('shopflow-bench'), max: 24, connectionTimeoutMillis: 120_000 }),
  });
  const children: LongRunning[] = [];
  let benchXacts = 0;

  try {
    await seedCatalogue(db, { sellers: 20, products: 400, customers: 200, maxStock: 1_000, currency: 'EUR', seed: 15 });
    const products = await db.product.findMany({ select: { id: true, sellerId: true, name: true, priceMinor: true } });
    const customers = (await db.customer.findMany({ select: { id: true } })).map((c) => c.id);
    const randomLines = (): HistoryLine[] => {
      const count = 1 + Math.floor(Math.random() * 3);
      const seller = products[Math.floor(Math.random() * products.length)]!.sellerId;
      const own = products.filter((p) => p.sellerId === seller);
      // One seller per order: a single shipment, so the lifecycle has exactly six events.
      return Array.from({ length: Math.min(count, own.length) }, (_, i) => own[i]!).map((p) => ({
        productId: p.id,
        sellerId: p.sellerId,
        name: p.name,
        quantity: 1 + Math.floor(Math.random() * 2),
        unitPriceMinor: Number(p.priceMinor),
      }));
    };

    const env = { DATABASE_URL: '', REDIS_URL: redisUrl, LOG_LEVEL: 'warn', METRICS_ENABLED: 'false' };
    const relay = startEntry('scripts/relay.ts', {
      ...env,
      LOG_LEVEL: 'info',
      DATABASE_URL: withApp('shopflow-relay'),
    });
    children.push(relay);
    await relay.waitForOutput('relay started', 60_000);

    /** Appends `orders` orders at the steady rate; returns the last-event-to-visible latencies sampled. */
    const write = async (orders: number, sampleLatency: boolean): Promise<number[]> => {
      const latencies: number[] = [];
      const running: Promise<void>[] = [];
      let failure: Error | undefined;
      const startedAt = performance.now();
      for (let i = 0; i < orders; i++) {
        const due = startedAt + (i * 1000) / options.rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const orderId = randomUUID();
        const customerId = customers[i % customers.length]!;
        const events = lifecycle(orderId, customerId, randomLines(), 'delivered');
        if (events.length !== EVENTS_PER_ORDER) throw new Error(`an order of ${events.length} events`);
        running.push(
          (async () => {
            for (const event of events) {
              await appendOrderEvents(db, orderId, [event], 'bench');
              benchXacts += 1;
              await sleep(options.stepMs);
            }
            if (sampleLatency && i % 10 === 0) {
              const appendedAt = performance.now() - options.stepMs;
              for (;;) {
                const [row] = await db.$queryRawUnsafe<{ version: number }[]>(
                  `SELECT version FROM read_models.orders_read WHERE order_id = $1::uuid`,
                  orderId,
                );
                benchXacts += 1;
                if ((row?.version ?? 0) >= EVENTS_PER_ORDER) break;
                await sleep(5);
              }
              latencies.push(performance.now() - appendedAt);
            }
          })().catch((error: unknown) => {
            // Held until every order was started, so that no rejection goes unheard (it would end
            // the process before the finally below stops the relay and the projector).
            failure ??= error instanceof Error ? error : new Error(String(error));
          }),
        );
      }
      await Promise.all(running);
      if (failure !== undefined) throw failure;
      return latencies;
    };

    const published = async (): Promise<void> => {
      for (;;) {
        benchXacts += 1;
        if ((await db.outboxEvent.count({ where: { status: 'PENDING' } })) === 0) return;
        await sleep(50);
      }
    };

    // Phase A: relay only.
    await sleep(STATS_FLUSH_MS);
    let x0 = await xacts(db, databaseName);
    let b0 = benchXacts;
    let r0 = await redisCommands(redis);
    const relayCpu0 = cpuMs(relay.child.pid!);
    await write(options.orders, false);
    await published();
    await sleep(STATS_FLUSH_MS);
    const phaseA = {
      xacts: (await xacts(db, databaseName)) - x0 - (benchXacts - b0),
      redis: (await redisCommands(redis)) - r0,
      relayCpuMs: cpuMs(relay.child.pid!) - relayCpu0,
    };

    // Phase B: relay and projector.
    const metricsPort = await freePort();
    const projector = startProjector(
      {
        ...env,
        DATABASE_URL: withApp('shopflow-projector'),
        PROJECTOR_METRICS_PORT: String(metricsPort),
        METRICS_ENABLED: 'true',
        LOG_LEVEL: 'info',
      },
      options.profile,
    );
    children.push(projector);
    await projector.waitForOutput('projector started', 120_000);
    // Caught up: the relay published everything and every projection applied every event.
    const caughtUp = async (): Promise<void> => {
      const before = drain.queries;
      await drain.waitUntilDrained('0', 600_000, 100);
      benchXacts += drain.queries - before;
    };
    await caughtUp();
    await sleep(STATS_FLUSH_MS);

    const backends = new BackendCpu(db, databaseName, 'shopflow-projector');
    const allBackends = new BackendCpu(db, databaseName, 'shopflow-relay');
    const sampler = setInterval(() => {
      void backends.sample().catch(() => undefined);
      void allBackends.sample().catch(() => undefined);
    }, 500);
    const load0 = loadavg()[0]!;
    x0 = await xacts(db, databaseName);
    await backends.sample();
    await allBackends.sample();
    b0 = benchXacts;
    r0 = await redisCommands(redis);
    const calls0 = await redisCalls(redis);
    const transactions0 = await projectorTransactions(metricsPort);
    const projectorCpu0 = cpuMs(projector.child.pid!);
    const relayCpuB0 = cpuMs(relay.child.pid!);
    const startedAt = performance.now();
    const latencies = await write(options.orders, true);
    await published();
    await caughtUp();
    const elapsedMs = performance.now() - startedAt;
    const projectorCpu1 = cpuMs(projector.child.pid!);
    const transactions1 = await projectorTransactions(metricsPort);
    await sleep(STATS_FLUSH_MS);
    clearInterval(sampler);
    await backends.sample();
    await allBackends.sample();
    const phaseB = {
      xacts: (await xacts(db, databaseName)) - x0 - (benchXacts - b0) - backends.queries - allBackends.queries,
      redis: (await redisCommands(redis)) - r0,
      projectorCpuMs: projectorCpu1 - projectorCpu0,
      relayCpuMs: cpuMs(relay.child.pid!) - relayCpuB0,
    };
    const load1 = loadavg()[0]!;
    const calls1 = await redisCalls(redis);
    const perCommand = [...calls1]
      .map(([name, n]) => [name, n - (calls0.get(name) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    console.log(
      `Redis commands in phase B, per order: ${perCommand.map(([c, k]) => `${c} ${round(k / options.orders, 1)}`).join(', ')}`,
    );
    const n = options.orders;

    projector.child.kill('SIGTERM');
    await projector.exited;

    const figures = {
      orders: n,
      events: n * EVENTS_PER_ORDER,
      rate_orders_per_s: options.rate,
      step_ms: options.stepMs,
      events_per_s: round((n * EVENTS_PER_ORDER) / (elapsedMs / 1000), 1),
      projector_cpu_ms_per_order: round(phaseB.projectorCpuMs / n, 2),
      projector_pg_backend_cpu_ms_per_order: round(backends.totalMs() / n, 2),
      // Its own count (the relay's idle polls make B minus A too noisy for this); NaN for a
      // projector that does not publish the counter (before it existed).
      projector_pg_xacts_per_order: round((transactions1 - transactions0) / n, 2),
      projector_pg_xacts_per_order_b_minus_a: round((phaseB.xacts - phaseA.xacts) / n, 2),
      projector_redis_commands_per_order: round((phaseB.redis - phaseA.redis) / n, 1),
      relay_cpu_ms_per_order: round(phaseB.relayCpuMs / n, 2),
      relay_pg_backend_cpu_ms_per_order: round(allBackends.totalMs() / n, 2),
      pg_xacts_per_order_relay_and_projector: round(phaseB.xacts / n, 2),
      pg_xacts_per_order_writer: EVENTS_PER_ORDER,
      redis_commands_per_order_relay_and_projector: round(phaseB.redis / n, 1),
      relay_only_pg_xacts_per_order: round(phaseA.xacts / n, 2),
      relay_only_redis_commands_per_order: round(phaseA.redis / n, 1),
      visible_latency_p50_ms: round(quantile(latencies, 0.5), 1),
      visible_latency_p99_ms: round(quantile(latencies, 0.99), 1),
      load_average_1m_start: round(load0, 2),
      load_average_1m_end: round(load1, 2),
    };
    console.log(JSON.stringify(figures, null, 2));
    console.log(`written to ${writeResults('projector', figures)}`);
  } finally {
    await drain.close();
    for (const child of children) {
      if (child.child.exitCode === null && child.child.signalCode === null) {
        child.child.kill('SIGTERM');
        await child.exited;
      }
    }
    await db.$disconnect();
    redis.disconnect();
    redisServer.kill('SIGTERM');
    if (!options.keep) await dropDatabase(databaseUrl);
  }
}

const program = new Command()
  .name('bench:projector')
  .description('What the projector costs per order at a steady order rate (see the comment at the top)')
  .option('--orders <n>', 'orders per phase', parseWholeNumber, 200)
  .option('--rate <n>', 'orders started per second', parseWholeNumber, 10)
  .option('--step-ms <n>', 'pause between one order’s events', parseWholeNumber, 100)
  .option('--profile <dir>', 'run the projector with --cpu-prof, profiles written into <dir>')
  .option('--keep', 'keep the database', false)
  .action(async (options: Options) => {
    await main(options);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
