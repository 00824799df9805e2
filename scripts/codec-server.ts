import { once } from 'node:events';
import { createServer } from 'node:http';
import { createApiKeyAuthenticator } from '../access/api-keys';
import { loadConfigOrExit } from '../platform/config';
import { createCodecApp } from '../platform/codec-server';
import { createPayloadCodec } from '../platform/data-converter';
import { createDatabase } from '../platform/database';
import { createLogger } from '../platform/logger';
import { onShutdownSignal } from '../platform/shutdown';

/**
 * `npm run codec-server`: decrypts payloads for the Web UI and operators' tools (see
 * platform/codec-server.ts), for operators' API keys only, checked against the catalogue database
 * (DATABASE_URL) as the API checks them.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const { host, port, corsOrigins } = config.codecServer;
  const logger = createLogger(config, 'shopflow-codec-server');
  // Keys are looked up rarely (the cache answers for a TTL): one connection is plenty.
  const db = createDatabase({ database: { ...config.database, poolSize: 2 } });
  const apiKeys = createApiKeyAuthenticator(db, config.apiKeys);
  const app = createCodecApp({
    codec: createPayloadCodec(config),
    authenticate: (key) => apiKeys.authenticate(key),
    corsOrigins,
    logger,
  });
  const server = createServer(app);
  server.listen(port, host);
  await once(server, 'listening');
  logger.info(
    { url: `http://${host}:${port}`, corsOrigins, keyIds: [...config.payloads.keys.keys()] },
    'codec server listening',
  );

  onShutdownSignal(logger, config.shutdownTimeoutMs, async () => {
    server.close();
    server.closeIdleConnections();
    await once(server, 'close');
    await db.$disconnect();
    logger.info('codec server stopped');
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`shopflow codec server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
