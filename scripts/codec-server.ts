import { once } from 'node:events';
import { createServer } from 'node:http';
import { CONFIG_EXIT_CODE, loadConfigOrExit } from '../platform/config';
import { createCodecApp } from '../platform/codec-server';
import { createPayloadCodec } from '../platform/data-converter';
import { createLogger } from '../platform/logger';
import { onShutdownSignal } from '../platform/shutdown';

/**
 * `npm run codec-server`: decrypts payloads for the Web UI and operators' tools (see
 * platform/codec-server.ts). `npm start` runs it with a token of its own; run alone, it needs
 * CODEC_SERVER_TOKEN: a codec server open to anyone would undo the encryption.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const { token, host, port, corsOrigins } = config.codecServer;
  if (!token) {
    process.stderr.write('shopflow: invalid configuration: CODEC_SERVER_TOKEN must be set to run the codec server\n');
    process.exit(CONFIG_EXIT_CODE);
  }
  const logger = createLogger(config, 'shopflow-codec-server');
  const app = createCodecApp({ codec: createPayloadCodec(config), token, corsOrigins, logger });
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
    logger.info('codec server stopped');
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`shopflow codec server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
