import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Redis } from 'ioredis';
import pino from 'pino';
import { ensureTemporalCli } from '../../dev/temporal-cli';
import { loadConfig, type Config } from '../../platform/config';
import { createDataConverter } from '../../platform/data-converter';
import { migrate } from '../../platform/migrations';
import { databaseName, databaseUrlFor, dropDatabase, ensureDatabase } from '../../platform/postgres-admin';
import { startEphemeralDevServer } from '../../test/support/dev-server';
import { buildDist, type Runtime } from './entry-runtime';
import type { JourneyWorld } from './order-journey';
import { newestChild, platformEnv } from './platform-env';
import { startPlatform, type RunningPlatform } from './platform-processes';
import { PostgresCounters } from './postgres-counters';
import { ReadModelDrain } from './read-model-drain';
import { redisServerPid } from './redis-counters';
import { startPrivateRedis, type PrivateRedis } from './redis-server';

/**
 * A fresh stage for a benchmark that runs the whole platform (bench/platform.ts,
 * bench/shard-orders.ts): a fresh database on the machine's PostgreSQL, filled by the script, a
 * fresh in-memory Temporal dev server (it slows down as finished workflows pile up), shopflow's
 * processes as `npm start` runs them, each its own process, and a Temporal client with the
 * platform's codec; the phases start once the read models have caught up. Under every stage of a
 * run, the host: the build, the Temporal CLI, Redis and the PostgreSQL counters.
 */

/** How long the relay and the projector may take to catch up with the events written so far. */
export const DRAIN_TIMEOUT_MS = 300_000;

/** How every stage of a run starts shopflow's processes. */
export interface PlatformSettings {
  runtime: Runtime;
  logLevel: 'warn' | 'info';
  /** Settings for every shopflow process (`--set KEY=VALUE`), over the benchmark's own. */
  set?: Record<string, string>;
  /** Extra arguments for each node process, e.g. --cpu-prof. */
  nodeArgs?: readonly string[];
}

/** What lives for the whole run, under every stage. */
export interface StageHost {
  base: Config;
  settings: PlatformSettings;
  cliPath: string;
  redisUrl: string;
  redis: Redis;
  postgres: PostgresCounters;
  say: (message: string) => void;
  close(): Promise<void>;
}

/**
 * Builds dist/ for the node runtime, finds the Temporal CLI, connects the PostgreSQL counters and
 * starts a redis-server of the run's own (INFO commandstats and its CPU time are server-wide),
 * unless `sharedRedisUrl` names a Redis database to flush before each stage instead.
 */
export async function openStageHost(options: {
  base: Config;
  settings: PlatformSettings;
  say: (message: string) => void;
  sharedRedisUrl?: string;
}): Promise<StageHost> {
  const { base, settings, say, sharedRedisUrl } = options;
  if (settings.runtime === 'node') {
    say('building dist/ (npm run build)');
    buildDist();
  }
  const cliPath = await ensureTemporalCli(pino({ level: 'warn' }, pino.destination(2)), base.temporal.cliPath);
  const privateRedis: PrivateRedis | undefined = sharedRedisUrl ? undefined : await startPrivateRedis();
  const redisUrl = sharedRedisUrl ?? privateRedis!.url;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const postgres = await PostgresCounters.connect(base.database.url);
  return {
    base,
    settings,
    cliPath,
    redisUrl,
    redis,
    postgres,
    say,
    async close() {
      await postgres.close();
      redis.disconnect();
      await privateRedis?.stop();
    },
  };
}

/** What every stage gets fresh. */
export interface PlatformStage {
  databaseUrl: string;
  env: Record<string, string>;
  devServerPid: number;
  redisPid: number;
  platform: RunningPlatform;
  drain: ReadModelDrain;
  temporal: Client;
  world: JourneyWorld;
}

/** The journeys' products and keys, from the catalogue a script seeded. */
export type CatalogueKeys = Omit<JourneyWorld, 'apiUrl' | 'temporal'>;

/** A script's part of a stage: its name and what its database holds. */
export interface StagePlan<Own> {
  /** `shopflow_bench_<kind>_…` names the stage's database, `shopflow-bench-<kind>-…` its data directory. */
  kind: string;
  /** A failed stage keeps each process's output as `<name>-<service>.log` in its data directory. */
  name: string;
  /**
   * Fills the fresh, migrated database before shopflow's processes start. Gives the journeys'
   * keys, and `own`: what the script's phases need besides (joined into the stage). What it opens
   * it hands to `onTeardown`: closed when the stage ends, also after a failure halfway, last
   * registered first, before the database is dropped.
   */
  prepare(
    databaseUrl: string,
    onTeardown: (close: () => Promise<unknown>) => void,
  ): Promise<{ keys: CatalogueKeys; own: Own }>;
}

export async function withStage<Own, T>(
  host: StageHost,
  plan: StagePlan<Own>,
  measure: (stage: PlatformStage & Own) => Promise<T>,
): Promise<T> {
  const databaseUrl = databaseUrlFor(host.base.database.url, `shopflow_bench_${plan.kind}_${randomUUID().slice(0, 8)}`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `shopflow-bench-${plan.kind}-`));
  await ensureDatabase(databaseUrl);
  await host.redis.flushdb();
  const teardown: (() => Promise<unknown>)[] = [];
  let devServer: TestWorkflowEnvironment | undefined;
  let platform: RunningPlatform | undefined;
  let drain: ReadModelDrain | undefined;
  let connection: Connection | undefined;
  let failed = true;
  try {
    await migrate(databaseUrl);
    const { keys, own } = await plan.prepare(databaseUrl, (close) => teardown.push(close));
    devServer = await startEphemeralDevServer(host.cliPath);
    const devServerPid = newestChild('temporal');
    const env = await platformEnv({
      logLevel: host.settings.logLevel,
      databaseUrl,
      redisUrl: host.redisUrl,
      temporalAddress: devServer.address,
      dataDir,
      set: host.settings.set,
    });
    platform = await startPlatform(host.settings.runtime, env, host.settings.nodeArgs);
    drain = await ReadModelDrain.connect(databaseUrl);
    // The catalogue's events reach the read models first: the phases start from a quiet platform.
    await drain.waitUntilDrained('0', DRAIN_TIMEOUT_MS);
    connection = await Connection.connect({ address: devServer.address });
    const config = loadConfig({ ...process.env, ...env });
    // The platform's codec: order results are encrypted with the keys its worker got.
    const temporal = new Client({ connection, dataConverter: createDataConverter(config) });
    const world: JourneyWorld = { apiUrl: platform.apiUrl, temporal, ...keys };
    const redisPid = await redisServerPid(host.redis);
    const result = await measure({
      ...own,
      databaseUrl,
      env,
      devServerPid,
      redisPid,
      platform,
      drain,
      temporal,
      world,
    });
    failed = false;
    return result;
  } finally {
    if (failed && platform) keepLogs(host, plan.name, platform, dataDir);
    await platform?.stop();
    await connection?.close();
    await drain?.close();
    await devServer?.teardown();
    for (const close of teardown.reverse()) await close();
    await dropDatabase(databaseUrl);
    if (!failed) rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The pids whose CPU time a phase counts, by group: shopflow's processes, the dev server, Redis,
 * and the PostgreSQL server's processes (PostgresCounters.processGroups: `postgres` for the
 * stage's database, `postgres_other_dbs`), less the drain's own connection.
 */
export async function stageProcesses(postgres: PostgresCounters, stage: PlatformStage): Promise<Map<number, string>> {
  const groups = await postgres.processGroups(databaseName(stage.databaseUrl), [stage.drain.pid]);
  for (const [service, pid] of Object.entries(stage.platform.pids())) groups.set(pid, service);
  groups.set(stage.devServerPid, 'temporal_dev_server');
  groups.set(stage.redisPid, 'redis');
  return groups;
}

function keepLogs(host: StageHost, name: string, platform: RunningPlatform, dataDir: string): void {
  for (const [service, output] of Object.entries(platform.outputs()))
    writeFileSync(path.join(dataDir, `${name}-${service}.log`), output);
  host.say(`${name} failed: process logs kept in ${dataDir}`);
}
