import { randomUUID } from 'node:crypto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import pino from 'pino';
import { createApp } from '../../api/app';
import type { AppDeps } from '../../api/deps';
import { loadConfig, type Config } from '../../lib/config';
import { createDatabase, type Database } from '../../lib/database';
import { createWorkerMetrics, type WorkerMetrics } from '../../lib/metrics';
import { createRedis, type Redis } from '../../lib/redis';
import { createTemporalClient } from '../../lib/temporal';
import { installTemporalRuntimeLogger } from '../../lib/temporal-logger';
import { createProviders, type Providers } from '../../worker/providers';
import { createWorker } from '../../worker/create-worker';

/**
 * The platform's parts wired as the entry points wire them, against the services that
 * global-setup started. Each test file gets its own task queue, so workers of different files
 * never take each other's tasks.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`, ...overrides });
}

export interface TestPlatform {
  config: Config;
  deps: AppDeps;
  app: ReturnType<typeof createApp>;
  close(): Promise<void>;
}

export async function startApi(config: Config = testConfig()): Promise<TestPlatform> {
  const db = createDatabase(config);
  const redis = createRedis(config, 'shopflow-test');
  await redis.connect().catch(() => undefined);
  const temporal = createTemporalClient(config);
  const deps: AppDeps = { config, db, redis, temporal, logger: pino({ level: 'silent' }) };
  return {
    config,
    deps,
    app: createApp(deps),
    async close() {
      await temporal.close();
      await db.$disconnect();
      redis.disconnect();
    },
  };
}

export interface RunningWorker {
  worker: Worker;
  db: Database;
  redis: Redis;
  /** What the worker's `/metrics` serves (besides the SDK's own metrics). */
  metrics: WorkerMetrics;
  stop(): Promise<void>;
}

/** A real worker on the test file's task queue, running until `stop`. */
export async function startWorker(config: Config, overrides: Partial<Providers> = {}): Promise<RunningWorker> {
  // The SDK's logs follow LOG_LEVEL (silent unless a developer asks), as in the worker process.
  installTemporalRuntimeLogger(pino({ level: config.log.level }));
  const db = createDatabase(config);
  const redis = createRedis(config, 'shopflow-test-worker');
  await redis.connect();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const metrics = createWorkerMetrics();
  const worker = await createWorker({
    config,
    deps: { db, redis, ...createProviders(config, redis), snapshotEvery: config.events.snapshotEvery, ...overrides },
    connection,
    workflowBundle: { codePath: requiredEnv('SHOPFLOW_TEST_WORKFLOW_BUNDLE') },
    metrics,
  });
  const running = worker.run();
  return {
    worker,
    db,
    redis,
    metrics,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await db.$disconnect();
      redis.disconnect();
    },
  };
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run integration tests through jest (global-setup sets it)`);
  return value;
}

/** Polls until `probe` returns a value, for outcomes that arrive asynchronously. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
