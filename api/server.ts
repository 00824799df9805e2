import { once } from 'node:events';
import { createServer } from 'node:http';
import { loadConfigOrExit } from '../platform/config';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- the entry point makes the catalogue's client, which the shard router starts from
import { createDatabase } from '../platform/database';
import { createLogger } from '../platform/logger';
import { startPositionWatcher } from '../read-models/projections/position-watcher';
import { createRedis, openRedis } from '../platform/redis';
import { createProcessShardRouter } from '../platform/shards/router';
import { createTemporalClient } from '../platform/temporal';
import { onShutdownSignal } from '../platform/shutdown';
import { createApp } from './app';
import { startApiMetricsServer } from './operations/metrics-server';
import { createApiMetrics } from '../platform/metrics';
import { startIdempotencySweeper, sweepEveryShard } from './orders/idempotency-sweeper';
import { pricingWarmUpStatement } from './orders/place-order';
import { rehearseOrderSubmission } from './orders/submit-rehearsal';
import { warmUp } from '../platform/warm-up';

/** The API process: listens, and on SIGTERM/SIGINT drains in-flight requests before closing. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'shopflow-api');
  const db = createDatabase(config);
  const redis = createRedis(config, 'shopflow-api');
  // A Redis that is away at start is reported by /health/ready; ioredis keeps reconnecting.
  await openRedis(redis).catch((error: Error) => logger.warn({ err: error }, 'redis not reachable yet'));
  const temporal = createTemporalClient(config);
  const positionWatcher = await startPositionWatcher(db, logger);
  // Listens for shard map changes: routing a customer's request costs no query.
  const shards = createProcessShardRouter(db, config, logger);
  await warmUp(
    { db, temporal, shards, logger },
    {
      connections: config.database.poolSize,
      timeoutMs: 3_000,
      statements: [pricingWarmUpStatement],
      rehearsal: () => rehearseOrderSubmission({ config, db, temporal, shards }),
    },
  );

  const deps = { config, db, redis, temporal, logger, positionWatcher, shards, metrics: createApiMetrics() };
  const server = createServer(createApp(deps));
  server.listen(config.http.port, config.http.host);
  await once(server, 'listening');
  logger.info({ url: `http://${config.http.host}:${config.http.port}` }, 'api listening');
  const metricsServer = config.metrics.enabled
    ? await startApiMetricsServer(deps, { host: config.http.host, port: config.metrics.apiPort })
    : undefined;
  if (metricsServer) logger.info({ url: metricsServer.url }, 'api metrics listening');
  const sweeper = startIdempotencySweeper(
    { sweepExpired: () => sweepEveryShard(shards, config.idempotency) },
    config.idempotency.sweepIntervalMs,
    logger,
  );

  onShutdownSignal(logger, config.shutdownTimeoutMs, async () => {
    const closed = once(server, 'close');
    server.close();
    server.closeIdleConnections();
    // Reads waiting for positions (up to READ_YOUR_WRITES_MAX_WAIT_MS) answer now, from their fallback.
    await positionWatcher.close();
    await closed;
    await metricsServer?.close();
    await sweeper.stop();
    await temporal.close();
    await shards.close();
    await db.$disconnect();
    redis.disconnect();
    logger.info('api stopped');
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`shopflow api: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
