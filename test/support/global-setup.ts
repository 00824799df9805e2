import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Redis } from 'ioredis';
import pino from 'pino';
import { migrate } from '../../lib/migrations';
import { quietBundlerLogger } from '../../lib/workflow-bundle';
import { databaseUrlFor, ensureDatabase } from '../../lib/postgres-admin';
import { ensureTemporalCli } from '../../lib/temporal-cli';
import { workflowsPath } from '../../worker/create-worker';
import { startTestCodecServer } from './codec-server';
import { startEphemeralDevServer } from './dev-server';
import { freePort } from './processes';
import { testServices } from './services';

/**
 * Starts what the integration tests share: a fresh, migrated database (never the developer's),
 * an ephemeral Temporal dev server from the pinned CLI, and one workflow bundle. Test files
 * read their addresses from the environment (set here, inherited by jest's workers).
 */
export default async function globalSetup(): Promise<void> {
  const logger = pino({ level: 'info', base: undefined });
  await assertRedisAnswers(testServices.redisUrl);

  const databaseUrl = databaseUrlFor(testServices.postgresUrl, `shopflow_test_${randomUUID().slice(0, 8)}`);
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);

  const cliPath = await ensureTemporalCli(logger, process.env['TEMPORAL_CLI_PATH']);
  // The Web UI on a free port, for the browser test (test/integration/web-ui.test.ts).
  const uiPort = await freePort();
  // Its payloads are encrypted: the UI decrypts them through a codec server, as with `npm start`.
  const codec = await startTestCodecServer(uiPort);
  const env = await startEphemeralDevServer(cliPath, { uiPort, codecEndpoint: codec.uiEndpoint });

  const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quietBundlerLogger });
  const bundleDir = mkdtempSync(path.join(tmpdir(), 'shopflow-test-'));
  const bundlePath = path.join(bundleDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: testServices.redisUrl,
    TEMPORAL_ADDRESS: env.address,
    SHOPFLOW_TEST_WORKFLOW_BUNDLE: bundlePath,
    SHOPFLOW_TEST_TEMPORAL_CLI: cliPath,
    SHOPFLOW_TEST_TEMPORAL_UI: `http://127.0.0.1:${uiPort}`,
    SHOPFLOW_TEST_CODEC_SERVER: codec.url,
    SHOPFLOW_TEST_CODEC_TOKEN: codec.token,
  });
  (globalThis as Record<string, unknown>)['__shopflowTestEnv'] = { env, databaseUrl, codecServer: codec.server };
}

async function assertRedisAnswers(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    throw new Error(`integration tests need Redis at ${url}; start it (see README, "Running the tests")`);
  } finally {
    redis.disconnect();
  }
}
