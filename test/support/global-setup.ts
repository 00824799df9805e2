import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Redis } from 'ioredis';
import pino from 'pino';
import { migrate } from '../../platform/migrations';
import { quietBundlerLogger } from '../../platform/workflow-bundle';
import { databaseUrlFor, ensureDatabase } from '../../platform/postgres-admin';
import { ensureTemporalCli } from '../../dev/temporal-cli';
import { workflowsPath } from '../../worker/create-worker';
import { startTestCodecServer } from './codec-server';
import { startEphemeralDevServer } from './dev-server';
import { startTestCluster } from './temporal-cluster';
import { startTestRedisCluster, type TestRedisCluster } from './redis-cluster';
import { freePort } from './processes';
import { testServices } from './services';

/**
 * Starts what the integration tests share: a fresh, migrated database (never the developer's),
 * an ephemeral Temporal dev server from the pinned CLI (or, with SHOPFLOW_TEST_TEMPORAL=cluster,
 * a Temporal cluster: test/support/temporal-cluster.ts), with SHOPFLOW_TEST_REDIS=cluster a Redis
 * Cluster for every Redis client (test/support/redis-cluster.ts), and one workflow bundle. Test files
 * read their addresses from the environment (set here, inherited by jest's workers).
 */
export default async function globalSetup(): Promise<void> {
  const logger = pino({ level: 'info', base: undefined });
  await assertRedisAnswers(testServices.redisUrl);

  const databaseUrl = databaseUrlFor(testServices.postgresUrl, `shopflow_test_${randomUUID().slice(0, 8)}`);
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);

  // The Redis Cluster profile (`npm run test:redis-cluster`): every client the tests and the code
  // under test make goes to a cluster of its own (test/support/redis.ts).
  let redisCluster: TestRedisCluster | undefined;
  if (process.env['SHOPFLOW_TEST_REDIS'] === 'cluster') {
    redisCluster = await startTestRedisCluster();
    Object.assign(process.env, {
      REDIS_CLUSTER_NODES: redisCluster.state.seeds,
      SHOPFLOW_TEST_REDIS_CLUSTER_DIR: redisCluster.dataDir,
    });
  }

  try {
    await startTemporalAndShare(logger, databaseUrl, redisCluster);
  } catch (error) {
    // Jest runs no teardown after a failed setup: nothing started here may outlive it.
    await redisCluster?.stop();
    throw error;
  }
}

/** The dev server (or the Temporal cluster profile's cluster), and what the tests share. */
async function startTemporalAndShare(
  logger: pino.Logger,
  databaseUrl: string,
  redisCluster: TestRedisCluster | undefined,
): Promise<void> {
  const cliPath = await ensureTemporalCli(logger, process.env['TEMPORAL_CLI_PATH']);
  // The cluster profile (`npm run test:cluster`) runs against a Temporal cluster instead.
  if (process.env['SHOPFLOW_TEST_TEMPORAL'] === 'cluster') {
    const cluster = await startTestCluster(logger, 'default');
    await shareWithTests({ databaseUrl, cliPath, temporalAddress: cluster.state.address });
    // For the tests that kill and restart its services (test/integration/cluster-faults.test.ts).
    process.env['SHOPFLOW_TEST_CLUSTER_DIR'] = cluster.dataDir;
    (globalThis as Record<string, unknown>)['__shopflowTestEnv'] = { cluster, redisCluster, databaseUrl };
    return;
  }
  const { uiPort, codec, env } = await startDevServerWithUi(cliPath);

  await shareWithTests({ databaseUrl, cliPath, temporalAddress: env.address });
  Object.assign(process.env, {
    SHOPFLOW_TEST_TEMPORAL_UI: `http://127.0.0.1:${uiPort}`,
    SHOPFLOW_TEST_CODEC_SERVER: codec.url,
    SHOPFLOW_TEST_CODEC_TOKEN: codec.token,
  });
  (globalThis as Record<string, unknown>)['__shopflowTestEnv'] = {
    env,
    redisCluster,
    databaseUrl,
    codecServer: codec.server,
  };
}

/** One workflow bundle for every test file, and the addresses of what they share. */
async function shareWithTests(shared: { databaseUrl: string; cliPath: string; temporalAddress: string }) {
  const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quietBundlerLogger });
  const bundleDir = mkdtempSync(path.join(tmpdir(), 'shopflow-test-'));
  const bundlePath = path.join(bundleDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'silent',
    DATABASE_URL: shared.databaseUrl,
    REDIS_URL: testServices.redisUrl,
    TEMPORAL_ADDRESS: shared.temporalAddress,
    SHOPFLOW_TEST_WORKFLOW_BUNDLE: bundlePath,
    SHOPFLOW_TEST_TEMPORAL_CLI: shared.cliPath,
  });
}

/**
 * The dev server with its Web UI on a free port, for the browser test (test/integration/web-ui.test.ts),
 * and the codec server the UI decrypts payloads through, as with `npm start`. A port found free can
 * be taken before the server binds it (by the codec server itself, or by a parallel process): then
 * everything is tried again on new ports.
 */
async function startDevServerWithUi(cliPath: string, attempts = 3) {
  for (let attempt = 1; ; attempt++) {
    const uiPort = await freePort();
    const codec = await startTestCodecServer(uiPort);
    try {
      const env = await startEphemeralDevServer(cliPath, { uiPort, codecEndpoint: codec.uiEndpoint });
      return { uiPort, codec, env };
    } catch (error) {
      await new Promise<void>((resolve) => codec.server.close(() => resolve()));
      if (attempt >= attempts) throw error;
    }
  }
}

async function assertRedisAnswers(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    throw new Error(`integration tests need Redis at ${url}; start it (see docs/development.md, "Running the tests")`);
  } finally {
    redis.disconnect();
  }
}
