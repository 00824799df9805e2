import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfigOrExit } from '../platform/config';
import { createDataConverter } from '../platform/data-converter';
import { createDatabase } from '../platform/database';
import { createLogger } from '../platform/logger';
import { createRedis } from '../platform/redis';
import { createProcessShardRouter } from '../platform/shards/router';
import { installTemporalRuntimeLogger } from '../platform/temporal-logger';
import { createProviders } from '../worker/providers';

/**
 * The worker process of `bench/orders.ts`: shopflow's own activities plus the baseline's no-op,
 * and the baseline workflow beside the order workflow. A separate process, as in production, so
 * the load generator and the API do not share the worker's CPU time slices.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'shopflow-bench-worker', 'stderr');
  installTemporalRuntimeLogger(logger);
  const db = createDatabase(config);
  // As the worker: the router listens for map changes, so routing adds no query to an order.
  const shards = createProcessShardRouter(db, config, logger);
  const redis = createRedis(config, 'shopflow-bench-worker');
  await redis.connect();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: require.resolve('./baseline-workflows'),
    dataConverter: createDataConverter(config),
    activities: {
      ...createActivities({ db, redis, shards, ...createProviders(config, redis) }),
      noop: () => Promise.resolve(),
    },
    // The workflow sandbox as shopflow's worker has it (worker/create-worker.ts), so that the
    // baseline gains from those settings as much as the orders do.
    isolateExecutionTimeout: config.temporal.workflowDeadlockTimeoutMs,
    workflowStackTraces: config.temporal.workflowStackTraces,
  });
  process.stdout.write('bench worker ready\n');
  await worker.run();
  await connection.close();
  await shards.close();
  await db.$disconnect();
  redis.disconnect();
}

main().catch((error: unknown) => {
  process.stderr.write(`shopflow bench worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
