import { loadConfigOrExit } from '../lib/config';
import { createDatabase } from '../lib/database';
import { createLogger } from '../lib/logger';
import { createRedis } from '../lib/redis';
import { installTemporalRuntimeLogger } from '../lib/temporal-logger';
import { connectWorker, createWorker } from './create-worker';
import { createProviders } from './providers';

/**
 * The worker process. The Temporal Runtime traps SIGINT/SIGTERM and shuts the worker down
 * (in-flight tasks finish or are handed back); then we close our own connections and exit.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'shopflow-worker');
  installTemporalRuntimeLogger(logger);

  const db = createDatabase(config);
  const redis = createRedis(config, 'shopflow-worker');
  await redis.connect();
  const connection = await connectWorker(config);
  const worker = await createWorker({ config, deps: { db, redis, ...createProviders(config, redis) }, connection });

  logger.info(
    { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, address: config.temporal.address },
    'worker started',
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
    await db.$disconnect();
    redis.disconnect();
    logger.info('worker stopped');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`shopflow worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
