import { createReadCache } from '../read-models/cache';
import { loadConfigOrExit, type Config } from '../platform/config';
import { ensureDashboardSchedule } from '../read-models/seller-dashboard/schedule';
import { createDatabase } from '../platform/database';
import { createLogger, type Logger } from '../platform/logger';
import { createRedis, openRedis } from '../platform/redis';
import { createProcessShardRouter } from '../platform/shards/router';
import { warmUp } from '../platform/warm-up';
import { createWorkerMetrics } from '../platform/metrics';
import { startMetricsServer, type MetricsServer } from '../platform/metrics-server';
import { createTemporalClient } from '../platform/temporal';
import { installTemporalRuntime } from '../platform/temporal-logger';
import { connectWorker, createWorker, workflowSource } from './create-worker';
import { createProviders } from './providers';

/**
 * The worker process. The Temporal Runtime traps SIGINT/SIGTERM and shuts the worker down
 * (in-flight tasks finish or are handed back); then we close our own connections and exit.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'shopflow-worker');
  const sdkMetricsAddress = `127.0.0.1:${config.metrics.sdkPort}`;
  installTemporalRuntime(logger, config.metrics.enabled ? { prometheusBindAddress: sdkMetricsAddress } : {});
  const metrics = createWorkerMetrics();
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.enabled) {
    metricsServer = await startMetricsServer({
      registry: metrics.registry,
      host: config.http.host,
      port: config.metrics.workerPort,
      sdkMetricsUrl: `http://${sdkMetricsAddress}/metrics`,
      logger,
    });
    logger.info({ url: metricsServer.url }, 'worker metrics listening');
  }

  const db = createDatabase(config);
  const shards = createProcessShardRouter(db, config, logger);
  const redis = createRedis(config, 'shopflow-worker');
  await openRedis(redis);
  const connection = await connectWorker(config);
  await ensureRecalculationSchedule(config, logger);
  // Its first activities would otherwise open the pool's connections and read the shard map at once.
  await warmUp({ db, shards, logger }, { connections: config.database.poolSize, timeoutMs: 3_000 });
  // The dashboard recalculation invalidates the cached dashboards it heals.
  const cache = createReadCache({ redis, ttlMs: config.cache.ttlMs, logger });
  const worker = await createWorker({
    config,
    deps: { db, redis, cache, shards, ...createProviders(config, redis), snapshotEvery: config.events.snapshotEvery },
    connection,
    metrics,
  });

  logger.info(
    {
      taskQueue: config.temporal.taskQueue,
      namespace: config.temporal.namespace,
      address: config.temporal.address,
      workflows: workflowSource().workflowBundle ? 'prebuilt bundle' : 'bundled at start',
    },
    'worker started',
  );
  try {
    await worker.run();
  } finally {
    await metricsServer?.close();
    await connection.close();
    await shards.close();
    await db.$disconnect();
    redis.disconnect();
    logger.info('worker stopped');
  }
}

/**
 * Every worker keeps the dashboard recalculation's Schedule as configured (read-models/seller-dashboard/schedule.ts).
 * Failing to is logged, not fatal: orders matter more than a dashboard check, and the next worker
 * start (or `shopflow setup`) tries again.
 */
async function ensureRecalculationSchedule(config: Config, logger: Logger): Promise<void> {
  const temporal = createTemporalClient(config);
  try {
    const schedule = await ensureDashboardSchedule(temporal.client, config);
    logger.info(schedule, 'dashboard recalculation schedule ready');
  } catch (error) {
    logger.error({ err: error }, 'could not create or update the dashboard recalculation schedule');
  } finally {
    await temporal.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`shopflow worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
