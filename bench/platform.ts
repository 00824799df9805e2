import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createApiKey } from '../access/api-keys';
import { seedCatalogue } from '../catalogue/seed';
import { loadConfigOrExit } from '../platform/config';
import { createDatabase } from '../platform/database';
import { databaseName } from '../platform/postgres-admin';
import { startEntry, type LongRunning } from '../test/support/processes';
import { runtimes, stopProcess, type Runtime } from './support/entry-runtime';
import type { Figures } from './support/figures';
import { closedLoop, quantile, round } from './support/load';
import { orderJourney, type Journey } from './support/order-journey';
import {
  measureOrderLoop,
  settleStatistics,
  startMeteredPhase,
  type PhaseCpu,
  type PhaseMetering,
} from './support/order-phase';
import { services } from './support/platform-processes';
import { openStageHost, stageProcesses, withStage, type PlatformStage, type StageHost } from './support/platform-stage';
import { clockTicksPerS, CpuMeter } from './support/proc-cpu';
import { callsBetween, commandCalls, type CommandCalls } from './support/redis-counters';
import { writeResults } from './support/results';
import { resultsTable, type TableColumn, type TableRow } from './support/results-table';
import { parseLevels, parseSeconds, parseWholeNumber, phaseProgress } from '../platform/command-line';

/**
 * Question (issue 15): what does one order cost the whole platform, run the way users run it, and
 * how many can it complete per second at 1, 8 and 32 concurrent clients, compared with the least
 * Temporal does on the same server?
 *
 * Every process is separate, as `npm start` runs them: API, worker, outbox relay, projector,
 * codec server (compiled JavaScript from dist/ by default, as production runs; `--runtime tsx`
 * for the TypeScript through tsx), an in-memory Temporal dev server with one task-queue partition,
 * the machine's PostgreSQL (a fresh database) and a redis-server of the benchmark's own (INFO
 * commandstats and its CPU time are server-wide). Each level gets all of it fresh: the dev server
 * slows down as finished workflows pile up.
 *
 * Each client of the closed loop drives one order at a time: POST /v1/orders, GET /v1/orders/{id}
 * naming the ShipmentsCreated position until it is SHIPPED, a carrier's POST
 * /v1/shipments/{id}/delivered per shipment, then the workflow's result (DELIVERED). Around it,
 * on the same server and at the same concurrency, a baseline of three-no-op-activity workflows
 * (bench/bench-worker.ts on a task queue of its own, running only then) before and after.
 *
 * Measured over the whole order phase, warm-up included, up to the moment the relay and the
 * projector have caught up with its events: CPU time of every process (/proc), PostgreSQL
 * transactions (pg_stat_database) and Redis commands (INFO commandstats), per completed order.
 * The same CPU per order is also given in baseline workflows (the dev server's and the bench
 * worker's CPU per baseline workflow, in the same stage): the machine's speed swings by up to half
 * within an hour here, which that unit cancels.
 */

interface Options {
  levels: number[];
  durationS: number;
  runtime: Runtime;
  backlog?: number;
  logLevel: 'warn' | 'info';
  redisUrl?: string;
  cpuProfDir?: string;
  /** Settings for every shopflow process (`--set KEY=VALUE`), over the benchmark's own. */
  set: Record<string, string>;
}

const BASELINE_TASK_QUEUE = 'bench-baseline';
const CUSTOMERS_WITH_KEYS = 20;

const say = (message: string): boolean => process.stderr.write(`bench:platform: ${message}\n`);

/** What lives for the whole run: the build, the Temporal CLI, Redis and the counters. */
interface Run extends StageHost {
  options: Options;
  progress: (phase: string) => void;
}

/** Each level (and the backlog) gets a stage of its own: database, dev server, shopflow's processes. */
type Stage = PlatformStage;

async function main(options: Options): Promise<void> {
  const base = loadConfigOrExit();
  const figures: Figures = {
    runtime: options.runtime,
    duration_s: options.durationS,
    log_level: options.logLevel,
    // What a run changed from the defaults, so that an A/B pair of results says which is which.
    settings:
      Object.entries(options.set)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ') || 'defaults',
    cpus: os.cpus().length,
    clock_ticks_per_s: clockTicksPerS,
    // Other work on this machine skews every figure: reported beside them.
    load_average_1m_start: round(os.loadavg()[0]!, 2),
  };
  const host = await openStageHost({
    base,
    settings: {
      runtime: options.runtime,
      logLevel: options.logLevel,
      set: options.set,
      nodeArgs: options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [],
    },
    say,
    sharedRedisUrl: options.redisUrl,
  });
  figures['redis'] = options.redisUrl ? `shared (${options.redisUrl})` : 'private redis-server';
  figures['pg_stat_statements'] = host.postgres.statementsAvailable
    ? 'loaded'
    : 'not in shared_preload_libraries: statements per order not measured';

  const phases = options.levels.length * 3 + (options.backlog ? 1 : 0);
  const bar = phaseProgress(phases, 'starting');
  const progress = (phase: string) => (process.stderr.isTTY ? bar.next(phase) : say(phase));
  const run: Run = { ...host, options, progress };
  try {
    for (const level of options.levels) Object.assign(figures, await measureLevel(run, level));
    if (options.backlog) Object.assign(figures, await measureBacklog(run, options.backlog));
  } finally {
    bar.stop();
    await host.close();
  }
  figures['load_average_1m_end'] = round(os.loadavg()[0]!, 2);
  const file = writeResults('platform', figures);
  printTable(figures, options);
  say(`written to ${file}`);
}

// ---------------------------------------------------------------------------------------------
// Levels

async function measureLevel(run: Run, level: number): Promise<Figures> {
  return withStage(run, stagePlan(`c${level}`), async (stage) => {
    run.progress(`c=${level} baseline (before)`);
    const before = await baselinePhase(run, stage, level);
    run.progress(`c=${level} orders via API`);
    const orders = await orderPhase(run, stage, level);
    run.progress(`c=${level} baseline (after)`);
    const after = await baselinePhase(run, stage, level);

    const baselineMean = (before.completedPerS + after.completedPerS) / 2;
    // The machine's speed swings from one run to the next; the baseline's CPU per workflow (the dev
    // server and the bench worker, code that no commit changes) moves with it, so an order's CPU
    // in baseline workflows compares across runs where milliseconds do not.
    const baselineCpuMs = (before.cpuMsPerWorkflow + after.cpuMsPerWorkflow) / 2;
    const inBaselineWorkflows = (figure: string) => round((orders[figure] as number) / baselineCpuMs, 2);
    const s = `_c${level}`;
    return {
      ...suffixed(orders, s),
      [`baseline_cpu_ms_per_workflow${s}`]: round(baselineCpuMs, 2),
      [`cpu_per_order_in_baseline_workflows_total${s}`]: inBaselineWorkflows('cpu_ms_per_order_total'),
      [`cpu_per_order_in_baseline_workflows_shopflow${s}`]: inBaselineWorkflows('cpu_ms_per_order_shopflow'),
      [`cpu_per_order_in_baseline_workflows_worker${s}`]: inBaselineWorkflows('cpu_ms_per_order_worker'),
      [`ratio_vs_baseline${s}`]: round((orders['completed_per_s'] as number) / baselineMean, 3),
      [`baseline_completed_per_s${s}`]: round(baselineMean, 1),
      [`baseline_before_completed_per_s${s}`]: round(before.completedPerS, 1),
      [`baseline_after_completed_per_s${s}`]: round(after.completedPerS, 1),
      [`baseline_drift_after_vs_before${s}`]: round(after.completedPerS / before.completedPerS, 2),
      [`baseline_errors${s}`]: before.errors + after.errors,
      [`baseline_start_p50_ms${s}`]: round(quantile([...before.startMs, ...after.startMs], 0.5), 1),
      [`baseline_start_p99_ms${s}`]: round(quantile([...before.startMs, ...after.startMs], 0.99), 1),
    };
  });
}

/**
 * The yardstick: workflows of three no-op activities, each client starting one and awaiting its
 * result, as the order phase's clients do with orders. The bench worker runs only now, so it
 * spends no CPU time in the order phase; shopflow's worker idles on its own task queue.
 */
async function baselinePhase(run: Run, stage: Stage, concurrency: number) {
  const worker = startEntry('bench/bench-worker.ts', { ...stage.env, TEMPORAL_TASK_QUEUE: BASELINE_TASK_QUEUE });
  try {
    await worker.waitForOutput('bench worker ready', 180_000);
    // How long the server takes to start a workflow at this concurrency: the floor under any submit.
    const startMs: number[] = [];
    const meter = new CpuMeter(() =>
      Promise.resolve(
        new Map([
          [stage.devServerPid, 'temporal_dev_server'],
          [worker.child.pid!, 'bench_worker'],
        ]),
      ),
    );
    await meter.start();
    const load = await closedLoop(concurrency, run.options.durationS * 1000, async () => {
      const startedAt = performance.now();
      const handle = await stage.temporal.workflow.start('baselineWorkflow', {
        taskQueue: BASELINE_TASK_QUEUE,
        workflowId: `baseline-${randomUUID()}`,
      });
      startMs.push(performance.now() - startedAt);
      await handle.result();
    });
    const { cpuMsByGroup } = await meter.stop();
    if (load.firstError) say(`baseline: first error: ${load.firstError}`);
    const cpuMs = Object.values(cpuMsByGroup).reduce((sum, ms) => sum + ms, 0);
    return {
      completedPerS: load.results.length / (load.elapsedMs / 1000),
      errors: load.errors,
      startMs,
      cpuMsPerWorkflow: cpuMs / Math.max(load.results.length, 1),
    };
  } finally {
    await stopProcess(worker);
  }
}

/** Figures of one order phase, unsuffixed (the caller adds the level). */
async function orderPhase(run: Run, stage: Stage, concurrency: number): Promise<Figures> {
  const load = { concurrency, durationMs: run.options.durationS * 1000, say };
  const phase = await measureOrderLoop(stage, load, costMetering(run, stage));
  const cost = await costFigures(run, stage, phase.counters, phase, phase.journeys.length);
  return {
    ...journeyFigures(phase.journeys, phase.elapsedMs),
    errors: phase.errors,
    ...cost,
  };
}

/** Orders sent in a phase's first seconds meet cold paths (connections, JIT, caches): reported apart. */
const WARM_UP_MS = 5_000;

function journeyFigures(journeys: Journey[], elapsedMs: number): Figures {
  const n = journeys.length;
  const firstSent = Math.min(...journeys.map((j) => j.sentAt));
  const steady = journeys.filter((j) => j.sentAt - firstSent >= WARM_UP_MS).map((j) => j.submitMs);
  const sum = (f: (j: Journey) => number) => journeys.reduce((total, j) => total + f(j), 0);
  return {
    orders_completed: n,
    // From the first submission to the last order DELIVERED: in a closed loop, the phase itself.
    order_phase_s: round(elapsedMs / 1000, 1),
    completed_per_s: round(n / (elapsedMs / 1000), 2),
    submit_p50_ms: round(
      quantile(
        journeys.map((j) => j.submitMs),
        0.5,
      ),
      1,
    ),
    submit_p99_ms: round(
      quantile(
        journeys.map((j) => j.submitMs),
        0.99,
      ),
      1,
    ),
    submit_p99_ms_after_warm_up: steady.length > 0 ? round(quantile(steady, 0.99), 1) : 'none',
    order_to_end_p50_ms: round(
      quantile(
        journeys.map((j) => j.endToEndMs),
        0.5,
      ),
      1,
    ),
    order_to_end_p99_ms: round(
      quantile(
        journeys.map((j) => j.endToEndMs),
        0.99,
      ),
      1,
    ),
    http_requests_per_order: round(sum((j) => j.httpRequests) / n, 2),
    fallback_reads_per_order: round(sum((j) => j.fallbackReads) / n, 3),
  };
}

// ---------------------------------------------------------------------------------------------
// Backlog

/**
 * `--backlog N`: N orders submitted at once, each then driven to DELIVERED as in the closed loop.
 * How long the platform takes to work off a burst, and whether workflow tasks then take so long
 * that the SDK warns (TMPRL1104).
 */
async function measureBacklog(run: Run, orders: number): Promise<Figures> {
  return withStage(run, stagePlan('backlog'), async (stage) => {
    run.progress(`backlog of ${orders}`);
    const phase = await startMeteredPhase(stage, costMetering(run, stage));
    const startedAt = performance.now();
    let lastSubmitted = startedAt;
    const outcomes = await Promise.allSettled(
      Array.from({ length: orders }, () => orderJourney(stage.world, () => (lastSubmitted = performance.now()))),
    );
    const elapsedMs = performance.now() - startedAt;
    const journeys = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) say(`backlog: first error: ${String(failed.reason)}`);
    const cost = await costFigures(run, stage, phase.counters, await phase.stop(), journeys.length);
    return suffixed(
      {
        orders_submitted: orders,
        all_submitted_s: round((lastSubmitted - startedAt) / 1000, 1),
        ...journeyFigures(journeys, elapsedMs),
        errors: orders - journeys.length,
        ...cost,
      },
      '_backlog',
    );
  });
}

// ---------------------------------------------------------------------------------------------
// What a phase cost

/** Besides CPU time: Redis commands, PostgreSQL transactions and statements, the SDK's warnings. */
interface Counters {
  redisCalls: CommandCalls;
  xacts: number;
  statements: number | undefined;
  drainQueries: number;
  warnings: number;
}

/** TMPRL1104: the SDK's warning that a workflow task took longer than it should. */
const countTaskWarnings = (worker: LongRunning) => (worker.output().match(/TMPRL1104/g) ?? []).length;

/** What a phase meters: the CPU time of the stage's processes (stageProcesses) and the counters above. */
function costMetering(run: Run, stage: Stage): PhaseMetering<Counters> {
  const database = databaseName(stage.databaseUrl);
  return {
    watch: () => stageProcesses(run.postgres, stage),
    readCounters: async () => ({
      redisCalls: await commandCalls(run.redis),
      xacts: await run.postgres.transactions(database),
      statements: await run.postgres.statements(database),
      drainQueries: stage.drain.queries,
      warnings: countTaskWarnings(stage.platform.processes.worker),
    }),
  };
}

/**
 * Once the relay and the projector have caught up with the phase's events (their CPU time for its
 * orders counts): reads every counter and divides by the completed orders.
 */
async function costFigures(
  run: Run,
  stage: Stage,
  start: Counters,
  { drainMs, cpuMsByGroup, exitedByGroup }: PhaseCpu,
  completed: number,
): Promise<Figures> {
  const redisCalls = callsBetween(start.redisCalls, await commandCalls(run.redis));
  await settleStatistics();
  const database = databaseName(stage.databaseUrl);
  // The drain's own checks are transactions in the database too: not shopflow's.
  const xacts = (await run.postgres.transactions(database)) - start.xacts - (stage.drain.queries - start.drainQueries);
  const statementsAfter = await run.postgres.statements(database);
  const perOrder = (value: number, digits = 1) => round(value / completed, digits);

  const cpu = (group: string) => cpuMsByGroup[group] ?? 0;
  const shopflowMs = services.reduce((sum, s) => sum + cpu(s), 0);
  const totalMs = shopflowMs + cpu('temporal_dev_server') + cpu('postgres') + cpu('redis');
  const figures: Figures = {
    drain_after_last_completion_ms: round(drainMs, 0),
    ...Object.fromEntries(
      [...services, 'temporal_dev_server', 'postgres', 'redis', 'postgres_other_dbs'].map((group) => [
        `cpu_ms_per_order_${group}`,
        perOrder(cpu(group)),
      ]),
    ),
    cpu_ms_per_order_shopflow: perOrder(shopflowMs),
    cpu_ms_per_order_total: perOrder(totalMs),
    postgres_backends_exited: exitedByGroup['postgres'] ?? 0,
    pg_xacts_per_order: perOrder(xacts, 2),
    ...(statementsAfter !== undefined && start.statements !== undefined
      ? { pg_statements_per_order: perOrder(statementsAfter - start.statements, 2) }
      : {}),
    redis_commands_per_order: perOrder(
      [...redisCalls.values()].reduce((a, b) => a + b, 0),
      2,
    ),
    // INFO commandstats counts the commands a Lua script runs one by one: how many calls were scripts.
    redis_script_calls_per_order: perOrder(
      ['eval', 'evalsha', 'fcall'].reduce((sum, c) => sum + (redisCalls.get(c) ?? 0), 0),
      2,
    ),
    tmprl1104_warnings: countTaskWarnings(stage.platform.processes.worker) - start.warnings,
  };
  const top = [...redisCalls].sort((a, b) => b[1] - a[1]).slice(0, 8);
  for (const [command, calls] of top) figures[`redis_${command.replace(/\W/g, '_')}_per_order`] = perOrder(calls, 2);
  return figures;
}

// ---------------------------------------------------------------------------------------------
// A fresh platform

/** A level's (or the backlog's) stage: the catalogue prepareCatalogue seeds, nothing else of the script's. */
function stagePlan(name: string) {
  return {
    kind: 'platform',
    name,
    prepare: async (databaseUrl: string) => ({ keys: await prepareCatalogue(databaseUrl), own: {} }),
  };
}

/** `--set KEY=VALUE`, repeatable: a setting (docs/configuration.md) for every shopflow process. */
function collectSetting(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(value);
  if (!match)
    throw new InvalidArgumentError(
      'must be KEY=VALUE with an upper-case setting name, e.g. WORKFLOW_STACK_TRACES=true',
    );
  return { ...previous, [match[1]!]: match[2]! };
}

/**
 * A seeded catalogue with stock no benchmark can exhaust (out-of-stock failures would flatter the
 * saga), customer keys for the clients and an operator key for the carrier.
 */
async function prepareCatalogue(databaseUrl: string) {
  const db = createDatabase({ database: { url: databaseUrl, poolSize: 4 } });
  try {
    await seedCatalogue(db, { sellers: 10, products: 200, customers: 100, maxStock: 1, currency: 'EUR', seed: 1 });
    await db.inventory.updateMany({ data: { onHand: 100_000_000 } });
    const products = await db.product.findMany({ select: { id: true } });
    const customers = await db.customer.findMany({ select: { id: true }, take: CUSTOMERS_WITH_KEYS });
    const customerKeys: string[] = [];
    for (const { id } of customers) {
      customerKeys.push((await createApiKey(db, { role: 'customer', customerId: id, name: 'bench/platform' })).key);
    }
    const carrierKey = (await createApiKey(db, { role: 'operator', name: 'bench/platform carrier' })).key;
    return { productIds: products.map((p) => p.id), customerKeys, carrierKey };
  } finally {
    await db.$disconnect();
  }
}

const suffixed = (figures: Figures, suffix: string): Figures =>
  Object.fromEntries(Object.entries(figures).map(([name, value]) => [`${name}${suffix}`, value]));

// ---------------------------------------------------------------------------------------------
// Output and command line

const tableRows: TableRow[] = [
  ['completed orders/s', 'completed_per_s'],
  ['  vs baseline (ratio)', 'ratio_vs_baseline'],
  ['baseline workflows/s', 'baseline_completed_per_s'],
  ['  drift after/before', 'baseline_drift_after_vs_before'],
  ['  start p50 / p99 ms', 'baseline_start_p50_ms|baseline_start_p99_ms'],
  ['submit p50 / p99 ms', 'submit_p50_ms|submit_p99_ms'],
  ['  p99 after the first 5 s', 'submit_p99_ms_after_warm_up'],
  ['order to end p50 / p99 ms', 'order_to_end_p50_ms|order_to_end_p99_ms'],
  ['HTTP requests / order', 'http_requests_per_order'],
  ['CPU ms / order: total', 'cpu_ms_per_order_total'],
  ['  shopflow (5 processes)', 'cpu_ms_per_order_shopflow'],
  ['  worker', 'cpu_ms_per_order_worker'],
  ['  API', 'cpu_ms_per_order_api'],
  ['  relay / projector', 'cpu_ms_per_order_relay|cpu_ms_per_order_projector'],
  ['  Temporal dev server', 'cpu_ms_per_order_temporal_dev_server'],
  ['  PostgreSQL / Redis', 'cpu_ms_per_order_postgres|cpu_ms_per_order_redis'],
  ['  in baseline workflows: total', 'cpu_per_order_in_baseline_workflows_total'],
  ['    shopflow / worker', 'cpu_per_order_in_baseline_workflows_shopflow|cpu_per_order_in_baseline_workflows_worker'],
  ['PG transactions / order', 'pg_xacts_per_order'],
  ['Redis commands / order', 'redis_commands_per_order'],
  ['drain after last order ms', 'drain_after_last_completion_ms'],
  ['errors / TMPRL1104', 'errors|tmprl1104_warnings'],
];

function printTable(figures: Figures, options: Options): void {
  const columns: TableColumn[] = options.levels.map((level) => ({ heading: `c=${level}`, suffix: `_c${level}` }));
  if (options.backlog) columns.push({ heading: 'backlog', suffix: '_backlog' });
  process.stdout.write(
    `\nbench:platform (${options.runtime}; load average ${figures['load_average_1m_start']} → ${figures['load_average_1m_end']})\n` +
      `${resultsTable(figures, tableRows, columns, 20)}\n\n`,
  );
}

/** A Redis database the benchmark may flush: never 0, where someone's data may live. */
function parseRedisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be a redis:// URL');
  }
  const db = Number(url.pathname.slice(1));
  if (!['redis:', 'rediss:'].includes(url.protocol) || !Number.isInteger(db) || db < 1 || db > 15)
    throw new InvalidArgumentError(
      'must be a redis:// URL naming a database 1..15 (it is flushed), e.g. redis://127.0.0.1:6379/5',
    );
  return value;
}

new Command('bench:platform')
  .description(
    'Orders per second and what each costs the whole platform (CPU per process, PostgreSQL transactions, ' +
      'Redis commands), every process separate as `npm start` runs them, vs. a no-op workflow baseline.',
  )
  .option('--levels <list>', 'concurrent clients per level, comma-separated', parseLevels, [1, 8, 32])
  .option('--duration-s <seconds>', 'how long each phase starts new work', parseSeconds, 30)
  .addOption(
    new Option('--runtime <runtime>', 'node: compiled dist/ (npm run build), as production; tsx: TypeScript')
      .choices(runtimes)
      .default('node'),
  )
  .option(
    '--backlog <orders>',
    'also: submit this many orders at once and time their drain to DELIVERED',
    parseWholeNumber,
  )
  .addOption(
    new Option('--log-level <level>', "shopflow processes' LOG_LEVEL").choices(['warn', 'info']).default('warn'),
  )
  .option(
    '--redis-url <url>',
    'use this Redis database (flushed) instead of a private redis-server; its counters are server-wide',
    parseRedisUrl,
  )
  .option('--cpu-prof-dir <dir>', "write each shopflow process's V8 CPU profile here when it stops (--runtime node)")
  .option(
    '--set <KEY=VALUE>',
    'a setting for every shopflow process, repeatable (e.g. WORKFLOW_STACK_TRACES=true to measure what it costs)',
    collectSetting,
    {},
  )
  .action((options: Options) => main(options))
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(`bench:platform: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
