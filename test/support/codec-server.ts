import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createCodecApp } from '../../platform/codec-server';
import { loadConfig } from '../../platform/config';
import { createPayloadCodec } from '../../platform/data-converter';

export interface TestCodecServer {
  server: Server;
  url: string;
  /** The one operator credential this server takes (global setup cannot reach the API keys: see below). */
  token: string;
  /** What the dev server's Web UI is given: the key in front of the operation, as `npm start` does. */
  uiEndpoint: string;
}

/**
 * The codec server for the test dev server's Web UI, with the keys the test workers use (the
 * environment's, as `testConfig` reads them) and the UI's origins allowed. It runs in Jest's global
 * setup, which cannot load the Prisma client that API keys are read with, so it takes one random
 * credential as an operator's. Authentication by real API keys is test/integration/codec-server.test.ts's.
 */
export async function startTestCodecServer(uiPort: number): Promise<TestCodecServer> {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
  const token = randomBytes(24).toString('base64url');
  const app = createCodecApp({
    codec: createPayloadCodec(config),
    authenticate: (key) => Promise.resolve(key === token ? { role: 'operator', keyId: 'test-web-ui' } : undefined),
    corsOrigins: [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`],
    logger: pino({ level: 'silent' }),
  });
  const server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url, token, uiEndpoint: `${url}/${token}` };
}
