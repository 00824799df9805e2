import { randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import type { RequestHandler } from 'express';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import pino from 'pino';
import { createApp } from '../../api/app';
import { startApiMetricsServer } from '../../api/operations/metrics-server';
import { buildOpenApiDocument } from '../../api/openapi/document';
import type { AppDeps } from '../../api/deps';
import type { Principal } from '../../api/access/principal';
import { createApiKey, type ApiKeyGrant } from '../../access/api-keys';
import { loadConfig, type Config } from '../../platform/config';
import { createDatabase, type Database } from '../../platform/database';
import { createApiMetrics, createWorkerMetrics, type ApiMetrics, type WorkerMetrics } from '../../platform/metrics';
import { createRedis, openRedis, type RedisClient } from '../../platform/redis';
import { createProcessShardRouter, createShardRouter, type ShardRouter } from '../../platform/shards/router';
import { startPositionWatcher } from '../../read-models/projections/position-watcher';
import { createTemporalClient } from '../../platform/temporal';
import { installTemporalRuntimeLogger } from '../../platform/temporal-logger';
import { createProviders, type Providers } from '../../worker/providers';
import { createWorker } from '../../worker/create-worker';
import { contractChecked } from './contract';

/**
 * The platform's parts wired as the entry points wire them, against the services that
 * global-setup started. Each test file gets its own task queue, so workers of different files
 * never take each other's tasks.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    // Every test file calls from 127.0.0.1 and would drain the others' IP buckets: limits are
    // off unless a test turns them on (test/integration/rate-limit.test.ts).
    RATE_LIMIT_ENABLED: 'false',
    ...overrides,
  });
}

export interface TestPlatform {
  config: Config;
  deps: AppDeps;
  /**
   * The app as a request listener that sends an operator key when a request carries no
   * Authorization header, so tests about other things need not think about keys.
   */
  app: RequestListener;
  /** The app itself: requests get exactly the headers the test sets. */
  bareApp: ReturnType<typeof createApp>;
  operatorKey: string;
  /** Who the operator key is. */
  operator: Principal;
  /** Creates an API key (for tests about who may do what); returns the key to send. */
  keyFor(grant: Omit<ApiKeyGrant, 'name'> & { name?: string }): Promise<string>;
  /** The API's /metrics text, from its metrics server (API_METRICS_PORT in production; a free port here). */
  scrapeMetrics(): Promise<string>;
  close(): Promise<void>;
}

export async function startApi(config: Config = testConfig()): Promise<TestPlatform> {
  const db = createDatabase(config);
  const redis = createRedis(config, 'shopflow-test');
  await openRedis(redis).catch(() => undefined);
  const temporal = createTemporalClient(config);
  const logger = pino({ level: 'silent' });
  // As api/server.ts: read-your-writes waits listen. A database that is away (health tests) polls.
  const positionWatcher = await startPositionWatcher(db, logger).catch(() => undefined);
  const metrics = createApiMetrics();
  const deps: AppDeps & { metrics: ApiMetrics } = {
    config,
    db,
    redis,
    temporal,
    logger,
    metrics,
    ...(positionWatcher ? { positionWatcher } : {}),
  };
  // As api/server.ts: the API's /metrics on a port of its own (here a free one), not on the app.
  const metricsServer = config.metrics.enabled
    ? await startApiMetricsServer(deps, { host: '127.0.0.1', port: 0 })
    : undefined;
  // Every response any test gets through this app is checked against the OpenAPI document.
  const contract = contractChecked(createApp(deps), buildOpenApiDocument(config));
  const bareApp = contract.handler;
  const keyFor: TestPlatform['keyFor'] = async (grant) =>
    (await createApiKey(db, { name: `test ${grant.role}`, ...grant })).key;
  // Tests of an API whose database is away (health) use only public routes: no key to make then.
  const operator = await createApiKey(db, { role: 'operator', name: 'test operator' }).catch(() => undefined);
  const missingKey = (): never => {
    throw new Error('no operator key: the database was unreachable when the test API started');
  };
  return {
    config,
    deps,
    bareApp,
    app: operator ? withDefaultKey(bareApp, operator.key) : bareApp,
    get operatorKey() {
      return operator?.key ?? missingKey();
    },
    get operator(): Principal {
      return operator ? { role: 'operator', keyId: operator.record.id } : missingKey();
    },
    keyFor,
    async scrapeMetrics() {
      if (!metricsServer) throw new Error('METRICS_ENABLED=false: the test API serves no metrics');
      const res = await fetch(metricsServer.url);
      if (!res.ok) throw new Error(`GET ${metricsServer.url}: HTTP ${res.status}`);
      return res.text();
    },
    async close() {
      await metricsServer?.close();
      await positionWatcher?.close();
      await temporal.close();
      await db.$disconnect();
      redis.disconnect();
      const violations = contract.violations();
      if (violations.length > 0) {
        throw new Error(`responses broke the OpenAPI contract:\n${violations.join('\n')}`);
      }
    },
  };
}

function withDefaultKey(app: RequestListener, key: string): RequestListener {
  return (req, res) => {
    req.headers.authorization ??= `Bearer ${key}`;
    app(req, res);
  };
}

/** For tests that mount one router without the app: every request acts as `principal`. */
export function actingAs(principal: Principal): RequestHandler {
  return (req, _res, next) => {
    req.principal = principal;
    next();
  };
}

export const testOperator: Principal = { role: 'operator', keyId: '00000000-0000-4000-8000-000000000000' };

export interface RunningWorker {
  worker: Worker;
  db: Database;
  redis: RedisClient;
  /** What the worker's `/metrics` serves (besides the SDK's own metrics). */
  metrics: WorkerMetrics;
  stop(): Promise<void>;
}

/** A real worker on the test file's task queue, running until `stop`. */
export async function startWorker(
  config: Config,
  overrides: Partial<Providers> = {},
  /** The workflows to run: the suite's bundle of workflows/ unless a test brings its own. */
  workflowBundle: WorkerOptions['workflowBundle'] = { codePath: requiredEnv('SHOPFLOW_TEST_WORKFLOW_BUNDLE') },
): Promise<RunningWorker> {
  // The SDK's logs follow LOG_LEVEL (silent unless a developer asks), as in the worker process.
  installTemporalRuntimeLogger(pino({ level: config.log.level }));
  const db = createDatabase(config);
  const redis = createRedis(config, 'shopflow-test-worker');
  await openRedis(redis);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const metrics = createWorkerMetrics();
  // As worker/main.ts: the router listens for map changes.
  const shards = createProcessShardRouter(db, config);
  const worker = await createWorker({
    config,
    deps: {
      db,
      redis,
      shards,
      ...createProviders(config, redis),
      snapshotEvery: config.events.snapshotEvery,
      ...overrides,
    },
    connection,
    workflowBundle,
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
      await shards.close();
      await db.$disconnect();
      redis.disconnect();
    },
  };
}

/**
 * A router on the test database for tests that call activities directly: it opens no connection of
 * its own while no shard is registered, so it needs no closing.
 */
export function shardRouterOn(db: Database, config: Config = testConfig()): ShardRouter {
  return createShardRouter({ catalogue: db, database: config.database });
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
