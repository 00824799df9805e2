import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { Client as PgClient } from 'pg';
import pidusage from 'pidusage';
import pino from 'pino';
import { createApp } from '../api/app';
import { createApiKey } from '../access/api-keys';
import { pickAny, randomOrderRequest } from './support/random-order';
import { orderWorkflowId } from '../domain/ids';
import { seedCatalogue } from '../catalogue/seed';
import { loadConfig, loadConfigOrExit, type Config } from '../platform/config';
import { createDatabase, type Database } from '../platform/database';
import { createDataConverter } from '../platform/data-converter';
import { migrate } from '../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../platform/postgres-admin';
import { createRedis } from '../platform/redis';
import { createTemporalClient } from '../platform/temporal';
import { ensureTemporalCli } from '../dev/temporal-cli';
import { startEphemeralDevServer } from '../test/support/dev-server';
import { startEntry } from '../test/support/processes';
import { testServices } from '../test/support/services';
import { startTestCluster } from '../test/support/temporal-cluster';
import { newestChild } from './support/platform-env';
import { CpuMeter } from './support/proc-cpu';
import { closedLoop, quantile, round, type LoadResult } from './support/load';
import { writeResults } from './support/results';
import { parseLevels, parseSeconds, phaseProgress } from '../platform/command-line';

function parseTargets(value: string): Target[] {
  const targets = value.split(',').map((t) => t.trim());
  const unknown = targets.filter((t) => t !== 'dev' && t !== 'cluster');
  if (targets.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(
      `must name dev and/or cluster, comma-separated (not ${unknown.join(', ') || 'nothing'})`,
    );
  }
  return [...new Set(targets)] as Target[];
}

/**
 * Question: how many orders per second does shopflow accept over HTTP and complete through the
 * full saga, at 1, 8 and 32 concurrent clients, compared with the least Temporal can do on the
 * same server (a workflow of three no-op activities started directly with the client)?
 *
 * Each level gets a fresh in-memory dev server (the dev server slows down as finished workflows
 * pile up), and the baseline runs before and after the saga; ratios use their mean.
 *
 * `--targets dev,cluster` asks the same of a Temporal cluster on PostgreSQL (issue 18: its four
 * services as processes, fresh databases per level, dev/temporal-cluster.ts) in the same run, as
 * ratios to the dev server, with the server's CPU per order (the cluster's: its services and its
 * database's backends).
 */

interface Options {
  levels: number[];
  durationS: number;
  /** The Temporal servers to run on: the dev server, a cluster on PostgreSQL (dev/temporal-cluster.ts), or both. */
  targets: Target[];
}

interface Phase {
  /** Workflows (orders) the phase started; each ran to its end within the phase. */
  started: number;
  /** CPU time the worker process spent per workflow started in this phase. */
  workerCpuMsPerWorkflow: number;
  startsPerS: number;
  completionsPerS: number;
  startP50Ms: number;
  startP99Ms: number;
  errors: number;
}

async function main(options: Options): Promise<void> {
  const base = loadConfigOrExit();
  const logger = pino({ level: 'info', base: undefined });
  const cliPath = await ensureTemporalCli(logger, base.temporal.cliPath);
  const databaseUrl = databaseUrlFor(base.database.url, `shopflow_bench_${randomUUID().slice(0, 8)}`);
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  const db = createDatabase({ database: { url: databaseUrl, poolSize: 20 } });
  const catalogue = await prepareCatalogue(db);

  const bar = phaseProgress(options.levels.length * options.targets.length * 3, 'starting');
  const figures: Record<string, number | string> = {
    duration_s: options.durationS,
    targets: options.targets.join(','),
  };
  try {
    for (const level of options.levels) {
      for (const target of options.targets) {
        const server = await startTarget(target, cliPath, logger);
        try {
          const measured = await measureLevel(server, target, level, options, databaseUrl, catalogue, bar);
          // The dev server's figures keep their names; the cluster's are prefixed.
          const prefix = target === 'dev' ? '' : `${target}_`;
          for (const [name, value] of Object.entries(measured)) figures[`${prefix}${name}_c${level}`] = value;
        } finally {
          await server.stop();
        }
      }
      if (options.targets.includes('dev') && options.targets.includes('cluster')) {
        const ratio = (name: string) =>
          round((figures[`cluster_${name}_c${level}`] as number) / (figures[`${name}_c${level}`] as number));
        figures[`cluster_vs_dev_saga_completed_c${level}`] = ratio('saga_completed_per_s');
        figures[`cluster_vs_dev_api_accepted_c${level}`] = ratio('api_accepted_per_s');
        figures[`cluster_vs_dev_temporal_cpu_ms_per_order_c${level}`] = ratio('temporal_cpu_ms_per_order');
      }
    }
  } finally {
    bar.stop();
    await db.$disconnect();
    await dropDatabase(databaseUrl);
  }
  const file = writeResults('orders', figures);
  logger.info({ file, ...figures }, 'benchmark written');
}

type Target = 'dev' | 'cluster';

/** A Temporal server to measure on: its address, and the processes whose CPU is the server's. */
interface TargetServer {
  address: string;
  /** The server's processes by group: `temporal` (dev server or services), `temporal_postgres` (the cluster's database backends). */
  processes(): Promise<Map<number, string>>;
  stop(): Promise<void>;
}

async function startTarget(target: Target, cliPath: string, logger: pino.Logger): Promise<TargetServer> {
  if (target === 'dev') {
    const env = await startEphemeralDevServer(cliPath);
    const pid = newestChild('temporal');
    return {
      address: env.address,
      processes: () => Promise.resolve(new Map([[pid, 'temporal']])),
      stop: () => env.teardown(),
    };
  }
  const cluster = await startTestCluster(logger, 'default');
  const admin = new PgClient({ connectionString: databaseUrlFor(testServices.postgresUrl, 'postgres') });
  await admin.connect();
  const databases = [cluster.state.database.temporal, cluster.state.database.visibility];
  return {
    address: cluster.state.address,
    async processes() {
      const groups = new Map<number, string>(Object.values(cluster.state.pids).map((pid) => [pid, 'temporal']));
      const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = ANY($1)', [
        databases,
      ]);
      for (const { pid } of rows) groups.set(pid, 'temporal_postgres');
      return groups;
    },
    async stop() {
      await admin.end();
      await cluster.stop();
    },
  };
}

/** Baseline, orders over the API, baseline again, on one server at one concurrency. */
async function measureLevel(
  server: TargetServer,
  target: Target,
  level: number,
  options: Options,
  databaseUrl: string,
  catalogue: Catalogue,
  bar: ReturnType<typeof phaseProgress>,
): Promise<Record<string, number>> {
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: `bench-${target}-${level}`,
    ORDER_DELIVERY_TIMEOUT_MS: '1',
    LOG_LEVEL: 'warn',
  });
  const worker = startEntry('bench/bench-worker.ts', {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
    LOG_LEVEL: 'warn',
  });
  try {
    await worker.waitForOutput('bench worker ready', 60_000);
    const connection = await Connection.connect({ address: server.address });
    // The same codec as the bench worker's, so both phases pay for encryption alike.
    const client = new Client({ connection, dataConverter: createDataConverter(config) });
    const tick = (phase: string) => bar.next(`${target} c=${level} ${phase}`);

    const workerPid = worker.child.pid!;
    tick('baseline (before)');
    const before = await withWorkerCpu(workerPid, () => baselinePhase(client, config, level, options.durationS));
    tick('orders via API');
    const serverCpu = new CpuMeter(() => server.processes());
    await serverCpu.start();
    const orders = await withWorkerCpu(workerPid, () => apiPhase(client, config, catalogue, level, options.durationS));
    const { cpuMsByGroup } = await serverCpu.stop();
    tick('baseline (after)');
    const after = await withWorkerCpu(workerPid, () => baselinePhase(client, config, level, options.durationS));
    await connection.close();

    const baselineStarts = (before.startsPerS + after.startsPerS) / 2;
    const baselineCompletions = (before.completionsPerS + after.completionsPerS) / 2;
    const orderCount = Math.max(1, orders.started);
    return {
      baseline_starts_per_s: round(baselineStarts, 1),
      baseline_completions_per_s: round(baselineCompletions, 1),
      baseline_drift_after_vs_before: round(after.completionsPerS / before.completionsPerS),
      api_accepted_per_s: round(orders.startsPerS, 1),
      api_accept_ratio_vs_baseline: round(orders.startsPerS / baselineStarts),
      api_p50_ms: round(orders.startP50Ms, 1),
      api_p99_ms: round(orders.startP99Ms, 1),
      saga_completed_per_s: round(orders.completionsPerS, 1),
      saga_complete_ratio_vs_baseline: round(orders.completionsPerS / baselineCompletions),
      worker_cpu_ms_per_baseline_workflow: round((before.workerCpuMsPerWorkflow + after.workerCpuMsPerWorkflow) / 2, 1),
      worker_cpu_ms_per_order: round(orders.workerCpuMsPerWorkflow, 1),
      // The Temporal server's processes (and, for the cluster, its database's backends) per order completed.
      temporal_cpu_ms_per_order: round(
        ((cpuMsByGroup['temporal'] ?? 0) + (cpuMsByGroup['temporal_postgres'] ?? 0)) / orderCount,
        1,
      ),
      temporal_postgres_cpu_ms_per_order: round((cpuMsByGroup['temporal_postgres'] ?? 0) / orderCount, 1),
      errors: before.errors + orders.errors + after.errors,
    };
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}

interface Catalogue {
  customerIds: string[];
  productIds: string[];
}

/** A seeded catalogue with stock no benchmark can exhaust: out-of-stock failures would flatter the saga. */
async function prepareCatalogue(db: Database): Promise<Catalogue> {
  await seedCatalogue(db, { sellers: 10, products: 200, customers: 100, maxStock: 1, currency: 'EUR', seed: 1 });
  await db.inventory.updateMany({ data: { onHand: 10_000_000 } });
  const products = await db.product.findMany({ select: { id: true } });
  const customers = await db.customer.findMany({ select: { id: true } });
  return { customerIds: customers.map((c) => c.id), productIds: products.map((p) => p.id) };
}

type MeasuredPhase = Omit<Phase, 'workerCpuMsPerWorkflow'>;

async function baselinePhase(
  client: Client,
  config: Config,
  concurrency: number,
  durationS: number,
): Promise<MeasuredPhase> {
  const load = await closedLoop(concurrency, durationS * 1000, () =>
    client.workflow.start('baselineWorkflow', {
      taskQueue: config.temporal.taskQueue,
      workflowId: `baseline-${randomUUID()}`,
    }),
  );
  return completionOf(load, (handle) => handle.result());
}

async function apiPhase(
  client: Client,
  config: Config,
  catalogue: Catalogue,
  concurrency: number,
  durationS: number,
): Promise<MeasuredPhase> {
  const db = createDatabase(config);
  const redis = createRedis(config, 'shopflow-bench-api');
  await redis.connect();
  const temporal = createTemporalClient(config);
  // Measured here: the order path, not the limiter (bench/ratelimit.ts and bench/api-load.ts measure that).
  const unlimited: Config = { ...config, rateLimit: { ...config.rateLimit, enabled: false } };
  const app = createApp({ config: unlimited, db, redis, temporal, logger: pino({ level: 'silent' }) });
  const { key } = await createApiKey(db, { role: 'operator', name: 'bench/orders' });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/orders`;
  try {
    const load = await closedLoop(concurrency, durationS * 1000, async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify(randomOrder(catalogue)),
      });
      const body = (await response.json()) as { orderId?: string; detail?: string };
      if (response.status !== 202 || !body.orderId) throw new Error(`HTTP ${response.status}: ${body.detail ?? ''}`);
      return client.workflow.getHandle(orderWorkflowId(body.orderId));
    });
    return await completionOf(load, async (handle) => {
      const result = (await handle.result()) as { status: string };
      if (result.status !== 'SHIPPED') throw new Error(`order ended ${result.status}`);
    });
  } finally {
    server.close();
    await temporal.close();
    await db.$disconnect();
    redis.disconnect();
  }
}

/** Runs a phase and charges the worker process's CPU time (user + system) to its workflows. */
async function withWorkerCpu(pid: number, phase: () => Promise<MeasuredPhase>): Promise<Phase> {
  const before = (await pidusage(pid)).ctime;
  const result = await phase();
  const spentMs = (await pidusage(pid)).ctime - before;
  return { ...result, workerCpuMsPerWorkflow: spentMs / Math.max(1, result.started) };
}

/** Completion rate: started workflows over the time from the first start to the last completion. */
async function completionOf<H>(load: LoadResult<H>, complete: (handle: H) => Promise<unknown>): Promise<MeasuredPhase> {
  const startedAt = performance.now() - load.elapsedMs;
  const outcomes = await Promise.allSettled(load.results.map(complete));
  const failed = outcomes.filter((o) => o.status === 'rejected').length;
  const completedIn = (performance.now() - startedAt) / 1000;
  if (load.firstError) process.stderr.write(`bench: first request error: ${load.firstError}\n`);
  return {
    started: load.results.length,
    startsPerS: load.results.length / (load.elapsedMs / 1000),
    completionsPerS: (load.results.length - failed) / completedIn,
    startP50Ms: quantile(load.latenciesMs, 0.5),
    startP99Ms: quantile(load.latenciesMs, 0.99),
    errors: load.errors + failed,
  };
}

function randomOrder(catalogue: Catalogue) {
  return { customerId: pickAny(catalogue.customerIds), ...randomOrderRequest(catalogue.productIds) };
}

new Command('bench:orders')
  .description('Orders accepted per second over HTTP and completed per second through the saga, vs. a no-op baseline.')
  .option('--levels <list>', 'concurrent clients per level, comma-separated', parseLevels, [1, 8, 32])
  .option('--duration-s <seconds>', 'how long each phase sends requests', parseSeconds, 10)
  .option(
    '--targets <list>',
    'Temporal servers, comma-separated: dev (the dev server), cluster (services on PostgreSQL); both give ratios',
    parseTargets,
    ['dev'] as Target[],
  )
  .action((options: Options) => main(options))
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(`bench:orders: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
