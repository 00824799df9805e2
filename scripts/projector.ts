import { hostname } from 'node:os';
import { Pool } from 'pg';
import { Counter } from 'prom-client';
import { createReadCache } from '../read-models/cache';
import { loadConfigOrExit } from '../platform/config';
import { createDatabase } from '../platform/database';
import { createLogger } from '../platform/logger';
import { createProjectorMetrics } from '../platform/metrics';
import { startMetricsServer, type MetricsServer } from '../platform/metrics-server';
import { projections } from '../read-models/projections';
import { startProjector } from '../read-models/projections/runner';
import { createRedis, openRedis } from '../platform/redis';
import { createProcessShardRouter } from '../platform/shards/router';
import { onShutdownSignal } from '../platform/shutdown';

/**
 * The projector process (`npm run projector`): keeps every read model (read-models/projections) up to date
 * from the relay's streams and invalidates the read cache around each commit. Any number may run:
 * each projection's consumer group shares the entries among them. SIGTERM finishes the event in
 * hand and exits; a SIGKILL loses nothing (the transaction rolls back, the entry stays pending and
 * is claimed again). `/metrics` on PROJECTOR_METRICS_PORT. Events are read from every shard of the
 * shard map as well as from its own database (docs/sharding.md).
 */
const VERSION_PRUNING_INTERVAL_MS = 60_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'shopflow-projector');
  const metrics = createProjectorMetrics();
  let metricsServer: MetricsServer | undefined;
  const db = createDatabase(config);
  // Asked only for events its own database does not hold: with one database it never queries.
  const shardRouter = createProcessShardRouter(db, config, logger);
  // The live transactions' raw SQL goes straight to pg (read-models/projections/sql.ts): two stream
  // readers, one transaction each at a time, plus room for a reconnect.
  // Timeouts as Prisma's transactions had them (60 s): a round stuck on a lock gives up and is retried.
  const pool = new Pool({
    connectionString: config.database.url,
    max: 4,
    connectionTimeoutMillis: 5_000,
    statement_timeout: 60_000,
    idle_in_transaction_session_timeout: 60_000,
  });
  pool.on('error', (error: Error) => logger.warn({ err: error }, 'projector pg pool: idle client error'));
  const redis = createRedis(config, 'shopflow-projector');
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'Redis connection error'));
  await openRedis(redis).catch((error: unknown) => logger.warn({ err: error }, 'Redis not reachable yet; retrying'));
  const cache = createReadCache({ redis, ttlMs: config.cache.ttlMs, logger });

  const transactions = new Counter({
    name: 'shopflow_projector_live_transactions_total',
    help: 'Transactions the projector ran to apply stream entries (one per round of its stream readers)',
    registers: [metrics.registry],
  });

  const projector = startProjector({
    db,
    pool,
    onTransaction: () => transactions.inc(),
    lingerMs: config.projections.lingerMs,
    projections,
    // Stream readers block on XREADGROUP: each needs its own connection, queueing while Redis is away.
    connectRedis: () => createRedis(config, 'shopflow-projector-stream', { queueWhileOffline: true }),
    cache,
    metrics,
    logger,
    consumer: `${hostname()}-${process.pid}`,
    shardRouter,
  });
  // Tag versions live in one hash (read-models/cache.ts); the projectors, which always run, forget old ones.
  const pruning = setInterval(() => {
    cache
      .pruneVersions()
      .then((pruned) => pruned > 0 && logger.debug({ pruned }, 'read cache: old tag versions forgotten'))
      .catch((error: unknown) => logger.warn({ err: error }, 'read cache: pruning tag versions failed'));
  }, VERSION_PRUNING_INTERVAL_MS).unref();
  onShutdownSignal(logger, config.shutdownTimeoutMs, async () => {
    clearInterval(pruning);
    await projector.stop();
    await shardRouter.close();
    await metricsServer?.close();
    await db.$disconnect();
    await pool.end();
    redis.disconnect();
    logger.info('projector stopped');
  });
  await projector.ready;
  // Started once caught up: a scrape target that answers is a projector that reads its streams.
  if (config.metrics.enabled) {
    metricsServer = await startMetricsServer({
      registry: metrics.registry,
      host: config.http.host,
      port: config.projections.metricsPort,
      logger,
    });
    logger.info({ url: metricsServer.url }, 'projector metrics listening');
  }
  logger.info({ projections: projections.map((p) => p.name) }, 'projector started');
}

main().catch((error: unknown) => {
  process.stderr.write(`shopflow projector: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
