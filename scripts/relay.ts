import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfigOrExit } from '../platform/config';
import { createLogger } from '../platform/logger';
import { runShardRelays } from '../events/shard-relays';
import { createRedis, openRedis } from '../platform/redis';
import { onShutdownSignal } from '../platform/shutdown';

/**
 * The outbox relay process (`npm run relay`): publishes outbox_events to Redis Streams, one loop
 * per database of the shard map (the catalogue database and every shard). Any number may run at once. SIGTERM finishes the batch in flight, then exits; a SIGKILL loses
 * nothing (the batch's transaction rolls back and another round publishes it again).
 * Health: `DATA_DIR/relay.heartbeat` holds the time of the last round that reached PostgreSQL.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'shopflow-relay');
  const redis = createRedis(config, 'shopflow-relay');
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'Redis connection error'));
  await openRedis(redis).catch((error: unknown) => logger.warn({ err: error }, 'Redis not reachable yet; retrying'));

  const heartbeatFile = path.resolve(config.dataDir, 'relay.heartbeat');
  mkdirSync(path.dirname(heartbeatFile), { recursive: true });
  let lastBeat = 0;
  const heartbeat = (): void => {
    if (Date.now() - lastBeat < 1_000) return;
    lastBeat = Date.now();
    writeFileSync(heartbeatFile, `${new Date(lastBeat).toISOString()}\n`);
  };

  const stop = new AbortController();
  const loop = runShardRelays({
    catalogueUrl: config.database.url,
    poolSize: Math.min(config.database.poolSize, 4),
    redis,
    settings: config.relay,
    logger,
    signal: stop.signal,
    onHeartbeat: heartbeat,
  });
  onShutdownSignal(logger, config.shutdownTimeoutMs, async () => {
    stop.abort();
    await loop;
    redis.disconnect();
    logger.info('relay stopped');
  });
  logger.info(
    { batchSize: config.relay.batchSize, listen: config.relay.listen, pollIntervalMs: config.relay.pollIntervalMs },
    'relay started',
  );
  await loop;
}

main().catch((error: unknown) => {
  process.stderr.write(`shopflow relay: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
