import type { Server } from 'node:http';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { dropDatabase } from '../../platform/postgres-admin';
import type { TestRedisCluster } from './redis-cluster';
import type { TestCluster } from './temporal-cluster';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>)['__shopflowTestEnv'] as
    | {
        env?: TestWorkflowEnvironment;
        cluster?: TestCluster;
        redisCluster?: TestRedisCluster;
        databaseUrl: string;
        codecServer?: Server;
      }
    | undefined;
  if (!state) return;
  state.codecServer?.close();
  await state.env?.teardown();
  await state.cluster?.stop();
  await state.redisCluster?.stop();
  // Kept when asked, to inspect what a failing run left behind.
  if (!process.env['KEEP_TEST_DATABASE']) await dropDatabase(state.databaseUrl);
}
