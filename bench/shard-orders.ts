import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createApiKey } from '../access/api-keys';
import { seedCatalogue } from '../catalogue/seed';
import { customerPartitionKey } from '../domain/sharding/partition-key';
import { parseLevels, parseWholeNumber, parseSeconds, phaseProgress } from '../platform/command-line';
import { loadConfig, loadConfigOrExit } from '../platform/config';
import { createDatabase, type Database } from '../platform/database';
import { databaseName, databaseUrlFor } from '../platform/postgres-admin';
import { digestCustomerRows, totalRows } from '../platform/shards/customer-rows';
import { planRebalance } from '../platform/shards/rebalance-plan';
import { createShardRouter, type ShardRouter } from '../platform/shards/router';
import { addShard } from '../platform/shards/shard-admin';
import { readShardMap, setShardState } from '../platform/shards/shard-map';
import { rebalanceWorkflowId, type RebalanceResult } from '../workflows/rebalance/rebalance-contract';
import { entryEnv, repoRoot } from '../test/support/processes';
import { compiledPath, runtimes, type Runtime } from './support/entry-runtime';
import type { Figures } from './support/figures';
import { quantile, round } from './support/load';
import { measureOrderLoop, settleStatistics } from './support/order-phase';
import { services } from './support/platform-processes';
import {
  openStageHost,
  stageProcesses,
  withStage,
  type PlatformStage,
  type StageHost,
  type StagePlan,
} from './support/platform-stage';
import { clockTicksPerS, CpuMeter } from './support/proc-cpu';
import { writeResults } from './support/results';
import { resultsTable, type TableColumn, type TableRow } from './support/results-table';
import {
  addServerShard,
  catalogueServerProfile,
  shardServerPids,
  type CatalogueServerProfile,
  type ShardServer,
} from './support/shard-servers';

/**
 * Question (issue 17): what does routing orders over shards cost on one machine, and how fast does
 * a rebalance move customers?
 *
 * 1. For each shard count N of `--shards` (default 1, 2, 4), a fresh platform: a fresh catalogue
 *    database on the machine's PostgreSQL, a fresh Temporal dev server, shopflow's processes as
 *    `npm start` runs them (API, worker, relay, projector, codec server, each its own process;
 *    compiled dist/ by default), a private redis-server. N = 1 is today's deployment: the
 *    catalogue database alone, no shard registered. N > 1 is production's layout for N shards
 *    (docs/sharding.md): the catalogue database registered as shard-0, and N - 1 PostgreSQL
 *    servers of their own (shard-1..; durable, as the machine's PostgreSQL is: fsync and
 *    synchronous commit on), each added as `shopflow shards add` adds it and made
 *    ACTIVE. Customers are seeded after the map is set, so each lands on the shard the ring gives
 *    them, and every customer gets an API key.
 *
 *    A closed loop of `--concurrency` clients for `--duration-s`, each driving one order at a
 *    time as bench/platform.ts does (POST /v1/orders as a random customer, GET until SHIPPED, the
 *    carrier's delivery report, the workflow's result DELIVERED): orders accepted and completed
 *    per second, submit latency, CPU per order per process (until the relay and the projector have
 *    caught up), and the ratio of each N to N = 1 in the same run. `--rounds` (3) measures every
 *    count again in alternating order; the figures are medians. On one machine the aim is that
 *    routing costs at most 10% (ratio ≥ 0.9), not that it scales: every shard shares the 2 cores.
 *    At the end the orders are counted on each shard: the most loaded shard over the mean.
 *
 * 2. With `--rebalance-from` shards (default 2), after that count's order phase: one more shard
 *    (a new server, added JOINING), then `shopflow shards rebalance --json` run as a process as an
 *    operator runs it, timed from its start to its exit, and the workflow's own duration.
 *    Customers moved per second and rows moved per second (each moved customer's order-side rows,
 *    counted on the target afterwards), with the fence settle the CLI uses by default (twice
 *    SHARD_MAP_MAX_STALENESS_MS) unless `--fence-settle-ms`.
 *
 * Results: bench/results/shard-orders.json. Progress on stderr.
 */

interface Options {
  shards: number[];
  rounds: number;
  durationS: number;
  concurrency: number;
  customers: number;
  rebalanceFrom: number | false;
  fenceSettleMs?: number;
  runtime: Runtime;
  logLevel: 'warn' | 'info';
  cpuProfDir?: string;
}

const REBALANCE_TIMEOUT_MS = 30 * 60_000;

const say = (message: string): boolean => process.stderr.write(`bench:shard-orders: ${message}\n`);

interface Run extends StageHost {
  options: Options;
  progress: (phase: string) => void;
  /** How shard servers run: as the catalogue's server does. */
  shardServers: CatalogueServerProfile;
}

/** What a stage over N shards holds besides the platform: the catalogue database, the router, the shards' servers. */
interface ShardLayout {
  shardCount: number;
  catalogue: Database;
  router: ShardRouter;
  shards: ShardServer[];
}

type Stage = PlatformStage & ShardLayout;

async function main(options: Options): Promise<void> {
  const base = loadConfigOrExit();
  const figures: Figures = {
    runtime: options.runtime,
    duration_s: options.durationS,
    rounds: options.rounds,
    concurrency_clients: options.concurrency,
    customers: options.customers,
    shard_counts: options.shards.join(','),
    layout:
      'shards_1: the catalogue database alone, no shard registered; shards_N>1: the catalogue database as shard-0 ' +
      '(the machine’s PostgreSQL) plus N-1 PostgreSQL servers of their own on this machine, of the catalogue’s ' +
      'version where the machine has its binaries, durable as the machine’s is (fsync, synchronous_commit, ' +
      'full_page_writes on)',
    cpus: os.cpus().length,
    clock_ticks_per_s: clockTicksPerS,
    load_average_1m_start: round(os.loadavg()[0]!, 2),
  };
  const host = await openStageHost({
    base,
    settings: {
      runtime: options.runtime,
      logLevel: options.logLevel,
      nodeArgs: options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [],
    },
    say,
  });
  const phases = options.shards.length * options.rounds + (options.rebalanceFrom ? 1 : 0);
  const bar = phaseProgress(phases, 'starting');
  const progress = (phase: string) => (process.stderr.isTTY ? bar.next(phase) : say(phase));
  // Asked of the server's own database: the stages' databases do not exist yet.
  const shardServers = await catalogueServerProfile(databaseUrlFor(base.database.url, 'postgres'));
  figures['shard_server_binaries'] =
    shardServers.binDir ?? 'embedded PostgreSQL (the catalogue server’s version is not on this machine)';
  figures['shard_server_settings'] = Object.entries(shardServers.settings)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  const run: Run = { ...host, options, progress, shardServers };
  try {
    // Rounds alternate the order (1,2,4 then 4,2,1, …) and each count's figures are medians over
    // them: a load that drifts over the run (another benchmark on this machine), or a cold first
    // stage, weighs on every count alike rather than on one.
    const byRound: Figures[][] = options.shards.map(() => []);
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? options.shards : [...options.shards].reverse();
      for (const count of order) {
        const withRebalance = r === 0 && options.rebalanceFrom === count;
        const { orders, rebalance } = await measureShards(run, count, r + 1, withRebalance);
        byRound[options.shards.indexOf(count)]!.push(orders);
        Object.assign(figures, rebalance);
      }
    }
    options.shards.forEach((count, i) => Object.assign(figures, overRounds(byRound[i]!, `_shards_${count}`)));
    Object.assign(figures, ratiosWithinRounds(options.shards, byRound));
  } finally {
    bar.stop();
    await host.close();
  }
  if (options.shards.includes(1)) {
    for (const count of options.shards) {
      const ratio = (name: string) =>
        round((figures[`${name}_shards_${count}`] as number) / (figures[`${name}_shards_1`] as number), 3);
      figures[`ratio_vs_1_shard_completed_shards_${count}`] = ratio('orders_completed_per_s');
      figures[`ratio_vs_1_shard_accepted_shards_${count}`] = ratio('orders_accepted_per_s');
      figures[`ratio_vs_1_shard_cpu_ms_per_order_total_shards_${count}`] = ratio('cpu_ms_per_order_total');
    }
  }
  figures['load_average_1m_end'] = round(os.loadavg()[0]!, 2);
  const file = writeResults('shard-orders', figures);
  printTable(figures, options);
  say(`written to ${file}`);
}

// ---------------------------------------------------------------------------------------------
// One shard count

async function measureShards(
  run: Run,
  count: number,
  round_: number,
  withRebalance: boolean,
): Promise<{ orders: Figures; rebalance: Figures }> {
  return withStage(run, stagePlan(run, count), async (stage) => {
    run.progress(`${count} shard${count === 1 ? '' : 's'}, round ${round_}: orders via API`);
    const orders: Figures = { load_average_1m: round(os.loadavg()[0]!, 2) };
    Object.assign(orders, await orderPhase(run, stage));
    Object.assign(orders, await ordersPerShard(stage));
    let rebalance: Figures = {};
    if (withRebalance) {
      run.progress(`${count} → ${count + 1} shards: rebalance`);
      rebalance = await rebalancePhase(run, stage);
    }
    return { orders, rebalance };
  });
}

/**
 * One count's figures over its rounds: numbers are the median (orders on the most and least loaded
 * shard: the worst round's), each round's throughput is kept beside it, and texts are joined
 * round by round.
 */
function overRounds(rounds: Figures[], suffix: string): Figures {
  const figures: Figures = {};
  for (const name of Object.keys(rounds[0]!)) {
    const values = rounds.map((r) => r[name]!);
    if (values.every((v) => typeof v === 'number')) {
      figures[`${name}${suffix}`] = name.startsWith('orders_on_shard_max')
        ? Math.max(...values)
        : name.startsWith('orders_on_shard_min')
          ? Math.min(...values)
          : round(median(values), 2);
    } else {
      figures[`${name}${suffix}`] =
        values.length === 1 ? values[0]! : values.map((v, i) => `round ${i + 1}: ${v}`).join('; ');
    }
    if (
      rounds.length > 1 &&
      ['orders_completed_per_s', 'orders_accepted_per_s', 'other_processes_cpu_share'].includes(name)
    )
      values.forEach((v, i) => (figures[`${name}${suffix}_round_${i + 1}`] = v));
  }
  return figures;
}

/**
 * Each round's orders completed per second with N shards over the same round's 1 shard, and their
 * median. The stages of one round run back to back; the machine's speed here swings by half
 * within minutes (a round ran every count at 11–12 orders/s, the next at 20–25), so a ratio of
 * medians taken from different rounds can be far off, where the median of ratios within rounds is not.
 */
function ratiosWithinRounds(counts: readonly number[], byRound: readonly Figures[][]): Figures {
  const single = counts.indexOf(1);
  if (single < 0) return {};
  const figures: Figures = {};
  counts.forEach((count, i) => {
    const ratios = byRound[i]!.map(
      (orders, r) =>
        (orders['orders_completed_per_s'] as number) / (byRound[single]![r]!['orders_completed_per_s'] as number),
    );
    ratios.forEach(
      (ratio, r) =>
        (figures[`ratio_vs_1_shard_completed_within_round_shards_${count}_round_${r + 1}`] = round(ratio, 3)),
    );
    figures[`ratio_vs_1_shard_completed_within_rounds_median_shards_${count}`] = round(median(ratios), 3);
  });
  return figures;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function orderPhase(run: Run, stage: Stage): Promise<Figures> {
  const load = { concurrency: run.options.concurrency, durationMs: run.options.durationS * 1000, say };
  const phase = await measureOrderLoop(stage, load, {
    watch: () => watchedProcesses(run, stage),
    // The machine's busy CPU time and this process's, from just before the meter starts.
    readCounters: () => ({ machine: machineCpuMs(), self: process.cpuUsage(), meterStartedAt: performance.now() }),
  });
  const { journeys, accepted, cpuMsByGroup, counters } = phase;
  const machine = machineCpuMs();
  const meteredS = (performance.now() - counters.meterStartedAt) / 1000;
  // The measured processes, and this one (the clients of the closed loop).
  const self = process.cpuUsage(counters.self);
  const ours = Object.values(cpuMsByGroup).reduce((a, b) => a + b, 0) + (self.user + self.system) / 1000;
  const capacityMs = meteredS * 1000 * os.cpus().length;
  const machineBusyMs = machine.busyMs - counters.machine.busyMs;
  const completed = journeys.length;
  const elapsedS = phase.elapsedMs / 1000;
  const submit = journeys.map((j) => j.submitMs);
  return {
    orders_accepted: accepted,
    orders_completed: completed,
    order_errors: phase.errors,
    order_phase_s: round(elapsedS, 1),
    orders_accepted_per_s: round(accepted / elapsedS, 2),
    orders_completed_per_s: round(completed / elapsedS, 2),
    submit_p50_ms: round(quantile(submit, 0.5), 1),
    submit_p99_ms: round(quantile(submit, 0.99), 1),
    order_to_end_p50_ms: round(
      quantile(
        journeys.map((j) => j.endToEndMs),
        0.5,
      ),
      1,
    ),
    drain_after_last_completion_ms: round(phase.drainMs, 0),
    // The machine's CPU over the phase, and the share of it that processes other than the
    // measured ones took (another benchmark on this machine): how contended the round was.
    machine_cpu_busy_share: round(machineBusyMs / capacityMs, 3),
    other_processes_cpu_share: round(Math.max(0, machineBusyMs - ours) / capacityMs, 3),
    ...cpuPer(cpuMsByGroup, completed, 'order'),
  };
}

/** CPU time the whole machine has been busy since boot (/proc/stat: all but idle and iowait). */
function machineCpuMs(): { busyMs: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return { busyMs: ((user + nice + system + irq + softirq + steal) * 1000) / clockTicksPerS };
}

/** Each group's CPU time over `units`, and the totals. */
function cpuPer(cpuMsByGroup: Record<string, number>, units: number, unit: string): Figures {
  const cpu = (group: string) => cpuMsByGroup[group] ?? 0;
  const groups = [...services, 'shopflow_cli', 'temporal_dev_server', 'postgres', 'postgres_shard_servers', 'redis'];
  const per = (ms: number) => (units > 0 ? round(ms / units, 1) : 'none');
  const figures: Figures = {};
  for (const group of groups) if (group in cpuMsByGroup) figures[`cpu_ms_per_${unit}_${group}`] = per(cpu(group));
  figures[`cpu_ms_per_${unit}_shopflow`] = per([...services, 'shopflow_cli'].reduce((sum, g) => sum + cpu(g), 0));
  figures[`cpu_ms_per_${unit}_total`] = per(groups.reduce((sum, g) => sum + cpu(g), 0));
  return figures;
}

/** Where the orders went: per shard, and the most loaded shard over the mean. */
async function ordersPerShard(stage: Stage): Promise<Figures> {
  const counts: Record<string, number> = {};
  for (const [id, db] of await shardDatabases(stage)) counts[id] = await db.order.count();
  const values = Object.values(counts);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    orders_per_shard: Object.entries(counts)
      .map(([id, n]) => `${id}=${n}`)
      .join(' '),
    orders_on_shard_max_over_mean: mean > 0 ? round(Math.max(...values) / mean, 3) : 'none',
    orders_on_shard_min_over_mean: mean > 0 ? round(Math.min(...values) / mean, 3) : 'none',
  };
}

/** Every database of the map by shard id; the catalogue alone (`default`) when none is registered. */
async function shardDatabases(stage: Stage): Promise<[string, Database][]> {
  const map = await readShardMap(stage.catalogue);
  if (map.shards.length === 0) return [['default', stage.catalogue]];
  return Promise.all(map.shards.map(async (s) => [s.id, await stage.router.database(s.id)] as [string, Database]));
}

// ---------------------------------------------------------------------------------------------
// Rebalance

async function rebalancePhase(run: Run, stage: Stage): Promise<Figures> {
  const newId = `shard-${stage.shardCount}`;
  const addStartedAt = performance.now();
  stage.shards.push(await addServerShard(stage.catalogue, newId, 'JOINING', run.shardServers));
  const addS = (performance.now() - addStartedAt) / 1000;
  // What the CLI will plan (as --dry-run shows it): the customers that move, and where to.
  const plan = await planRebalance(stage.catalogue, stage.router);
  const config = loadConfig({ ...process.env, ...stage.env });
  const fenceSettleMs = run.options.fenceSettleMs ?? 2 * config.shards.mapMaxStalenessMs;
  const args = [
    'shards',
    'rebalance',
    '--json',
    ...(run.options.fenceSettleMs ? ['--fence-settle-ms', String(fenceSettleMs)] : []),
  ];

  await settleStatistics();
  let cliPid: number | undefined;
  const meter = new CpuMeter(async () => {
    const groups = await watchedProcesses(run, stage);
    if (cliPid) groups.set(cliPid, 'shopflow_cli');
    return groups;
  });
  await meter.start(500);
  const startedAt = performance.now();
  const cli = runCli(run.options.runtime, args, stage.env, (pid) => (cliPid = pid));
  const { code, stdout, stderr } = await cli;
  const wallS = (performance.now() - startedAt) / 1000;
  const { cpuMsByGroup } = await meter.stop();
  if (code !== 0) throw new Error(`shopflow shards rebalance exited ${code}:\n${stderr}${stdout}`);
  const result = JSON.parse(stdout) as RebalanceResult;

  const description = await stage.temporal.workflow
    .getHandle(rebalanceWorkflowId(databaseName(stage.databaseUrl)))
    .describe();
  const workflowS = ((description.closeTime?.getTime() ?? Date.now()) - description.startTime.getTime()) / 1000;

  // Rows moved: each moved customer's order-side rows, now on its target.
  const failed = new Set(result.failed.map((f) => f.partitionKey));
  let rows = 0;
  let customersCounted = 0;
  for (const move of plan.moves) {
    if (failed.has(move.partitionKey)) continue;
    const target = (await stage.router.databaseFor(customerPartitionKey(move.customerId))).db;
    rows += totalRows(await digestCustomerRows(target, move.customerId));
    customersCounted += 1;
  }
  const moved = result.moved;
  return {
    rebalance_from_shards: stage.shardCount,
    rebalance_to_shards: stage.shardCount + 1,
    rebalance_customers_in_all: Object.values(plan.customersPerShard).reduce((a, b) => a + b, 0),
    rebalance_customers_planned: plan.moves.length,
    rebalance_customers_moved: moved,
    rebalance_customers_given_up: result.failed.length,
    rebalance_rows_moved: rows,
    rebalance_rows_per_customer: customersCounted > 0 ? round(rows / customersCounted, 1) : 'none',
    rebalance_fence_settle_ms: fenceSettleMs,
    shard_add_s: round(addS, 2),
    rebalance_wall_s: round(wallS, 1),
    rebalance_workflow_s: round(workflowS, 1),
    rebalance_customers_per_s: round(moved / wallS, 3),
    rebalance_rows_per_s: round(rows / wallS, 1),
    rebalance_customers_per_s_workflow: round(moved / workflowS, 3),
    rebalance_rows_per_s_workflow: round(rows / workflowS, 1),
    // What a move costs beside the fence settle it waits twice (the ring's once, each key's once).
    rebalance_s_per_customer_besides_settle:
      moved > 0 ? round((workflowS - ((moved + 1) * fenceSettleMs) / 1000) / moved, 3) : 'none',
    ...cpuPer(cpuMsByGroup, moved, 'customer_moved'),
  };
}

/** `shopflow shards rebalance …` as its own process, as an operator runs it; stdout and stderr apart. */
function runCli(
  runtime: Runtime,
  args: readonly string[],
  env: Record<string, string>,
  onStarted: (pid: number) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const entry = runtime === 'node' ? compiledPath('cli/main.ts') : path.join(repoRoot, 'cli', 'bin.js');
  const child = spawn(process.execPath, [entry, ...args], { env: entryEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  onStarted(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), REBALANCE_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// What is measured

/**
 * The stage's processes, less other databases' backends on the machine's PostgreSQL (other work,
 * which the round's share of other processes shows), and the shards' servers.
 */
async function watchedProcesses(run: Run, stage: Stage): Promise<Map<number, string>> {
  const groups = await stageProcesses(run.postgres, stage);
  for (const [pid, group] of groups) if (group === 'postgres_other_dbs') groups.delete(pid);
  for (const pid of shardServerPids(stage.shards)) groups.set(pid, 'postgres_shard_servers');
  return groups;
}

// ---------------------------------------------------------------------------------------------
// A fresh platform over N shards

/**
 * A stage over `count` shards. With more than one, production's layout: the catalogue database
 * registered first (so the customers it holds stay there), then a server of its own per further
 * shard; the customers are seeded after the map is set.
 */
function stagePlan(run: Run, count: number): StagePlan<ShardLayout> {
  return {
    kind: 'shards',
    name: `shards-${count}`,
    async prepare(databaseUrl, onTeardown) {
      const shards: ShardServer[] = [];
      onTeardown(() => Promise.all(shards.map(({ server }) => server.stop())));
      const catalogue = createDatabase({ database: { url: databaseUrl, poolSize: 4 } });
      onTeardown(() => catalogue.$disconnect());
      const router = createShardRouter({ catalogue, database: { url: databaseUrl, poolSize: 2 }, maxStalenessMs: 0 });
      onTeardown(() => router.close());
      if (count > 1) {
        await addShard(catalogue, { id: 'shard-0', url: databaseUrl, region: 'local' });
        await setShardState(catalogue, 'shard-0', 'ACTIVE');
        for (let i = 1; i < count; i++) {
          shards.push(await addServerShard(catalogue, `shard-${i}`, 'ACTIVE', run.shardServers));
        }
      }
      const keys = await prepareCatalogue(catalogue, router, run.options.customers);
      return { keys, own: { shardCount: count, catalogue, router, shards } };
    },
  };
}

/**
 * The catalogue (stock no run can exhaust) and its customers, each on the shard the ring gives
 * them (seedCatalogue routes them), every customer with an API key; an operator key for the carrier.
 */
async function prepareCatalogue(catalogue: Database, router: ShardRouter, customers: number) {
  await seedCatalogue(
    catalogue,
    { sellers: 10, products: 200, customers, maxStock: 1, currency: 'EUR', seed: 1 },
    () => undefined,
    router,
  );
  await catalogue.inventory.updateMany({ data: { onHand: 100_000_000 } });
  const products = await catalogue.product.findMany({ select: { id: true } });
  const map = await readShardMap(catalogue);
  const databases = map.shards.length ? await Promise.all(map.shards.map((s) => router.database(s.id))) : [catalogue];
  const customerKeys: string[] = [];
  for (const db of databases) {
    for (const { id } of await db.customer.findMany({ select: { id: true } })) {
      const { key } = await createApiKey(
        catalogue,
        { role: 'customer', customerId: id, name: 'bench/shard-orders' },
        { shards: router },
      );
      customerKeys.push(key);
    }
  }
  if (customerKeys.length !== customers)
    throw new Error(`${customers} customers seeded, ${customerKeys.length} found on the shards`);
  const carrierKey = (await createApiKey(catalogue, { role: 'operator', name: 'bench/shard-orders carrier' })).key;
  return { productIds: products.map((p) => p.id), customerKeys, carrierKey };
}

// ---------------------------------------------------------------------------------------------
// Output and command line

const tableRows: TableRow[] = [
  ['orders completed/s', 'orders_completed_per_s'],
  ['  ratio vs 1 shard', 'ratio_vs_1_shard_completed'],
  ['  ratio within rounds, median', 'ratio_vs_1_shard_completed_within_rounds_median'],
  ['orders accepted/s', 'orders_accepted_per_s'],
  ['submit p50 / p99 ms', 'submit_p50_ms|submit_p99_ms'],
  ['CPU ms / order: total', 'cpu_ms_per_order_total'],
  ['  worker / API', 'cpu_ms_per_order_worker|cpu_ms_per_order_api'],
  ['  dev server', 'cpu_ms_per_order_temporal_dev_server'],
  ['  PostgreSQL: catalogue / shards', 'cpu_ms_per_order_postgres|cpu_ms_per_order_postgres_shard_servers'],
  ['orders per shard', 'orders_per_shard'],
  ['  max / mean', 'orders_on_shard_max_over_mean'],
  ['other processes: CPU share', 'other_processes_cpu_share'],
  ['errors', 'order_errors'],
];

function printTable(figures: Figures, options: Options): void {
  const columns: TableColumn[] = options.shards.map((n) => ({
    heading: `${n} shard${n === 1 ? '' : 's'}`,
    suffix: `_shards_${n}`,
  }));
  const rebalance =
    'rebalance_customers_moved' in figures
      ? `\n  rebalance ${figures['rebalance_from_shards']} → ${figures['rebalance_to_shards']} shards: ` +
        `${figures['rebalance_customers_moved']} customers, ${figures['rebalance_rows_moved']} rows in ` +
        `${figures['rebalance_wall_s']} s: ${figures['rebalance_customers_per_s']} customers/s, ` +
        `${figures['rebalance_rows_per_s']} rows/s (fence settle ${figures['rebalance_fence_settle_ms']} ms)\n`
      : '';
  process.stdout.write(
    `\nbench:shard-orders (${options.runtime}, ${options.concurrency} clients; load average ` +
      `${figures['load_average_1m_start']} → ${figures['load_average_1m_end']})\n` +
      `${resultsTable(figures, tableRows, columns, 28)}\n${rebalance}\n`,
  );
}

/** Shard counts, e.g. `1,2,4`: whole numbers 1..8, each once. */
function parseShardCounts(value: string): number[] {
  let counts: number[];
  try {
    counts = parseLevels(value);
  } catch {
    throw new InvalidArgumentError('must be shard counts 1..8, comma-separated, e.g. 1,2,4');
  }
  if (counts.some((n) => n > 8) || new Set(counts).size !== counts.length)
    throw new InvalidArgumentError('must be shard counts 1..8, each once, e.g. 1,2,4');
  return counts;
}

function parseMs(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number of milliseconds');
  return Number(value);
}

function parseRebalanceFrom(value: string): number {
  const n = parseWholeNumber(value);
  if (n < 2) throw new InvalidArgumentError('must be at least 2 (the catalogue database registered, and one more)');
  return n;
}

const program = new Command('bench:shard-orders')
  .description(
    'Orders accepted and completed per second with 1, 2 and 4 shards (every process separate, as `npm start` runs ' +
      'them; shards are PostgreSQL servers of their own), as ratios to 1 shard; then rebalance throughput ' +
      '(customers/s, rows/s) when one more shard joins.',
  )
  .option(
    '--shards <list>',
    'shard counts to measure, comma-separated (1 is the baseline)',
    parseShardCounts,
    [1, 2, 4],
  )
  .option(
    '--rounds <n>',
    'measure every count this many times, in alternating order; figures are medians',
    parseWholeNumber,
    3,
  )
  .option('--duration-s <seconds>', 'how long each order phase starts new orders', parseSeconds, 30)
  .option('--concurrency <clients>', 'clients of the closed loop', parseWholeNumber, 8)
  .option('--customers <n>', 'customers seeded (each with an API key) for each shard count', parseWholeNumber, 200)
  .option(
    '--rebalance-from <shards>',
    'after this count’s order phase, add one shard and time the rebalance (must be one of --shards)',
    parseRebalanceFrom,
    2,
  )
  .option('--no-rebalance', 'skip the rebalance')
  .option('--cpu-prof-dir <dir>', "write each shopflow process's V8 CPU profile here when it stops (--runtime node)")
  .option(
    '--fence-settle-ms <ms>',
    'the rebalance’s wait after each fence (default: the CLI’s, twice SHARD_MAP_MAX_STALENESS_MS)',
    parseMs,
  )
  .addOption(
    new Option('--runtime <runtime>', 'node: compiled dist/ (npm run build), as production; tsx: TypeScript')
      .choices(runtimes)
      .default('node'),
  )
  .addOption(
    new Option('--log-level <level>', "shopflow processes' LOG_LEVEL").choices(['warn', 'info']).default('warn'),
  )
  .action((raw: Omit<Options, 'rebalanceFrom'> & { rebalanceFrom: number; rebalance: boolean }) => {
    const { rebalance, rebalanceFrom, ...rest } = raw;
    if (rebalance && !rest.shards.includes(rebalanceFrom))
      program.error(`error: --rebalance-from ${rebalanceFrom} must be one of --shards (${rest.shards.join(',')})`, {
        exitCode: 2,
      });
    return main({ ...rest, rebalanceFrom: rebalance ? rebalanceFrom : false });
  })
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`bench:shard-orders: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
