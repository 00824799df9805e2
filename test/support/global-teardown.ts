import type { Server } from 'node:http';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { dropDatabase } from '../../platform/postgres-admin';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>)['__shopflowTestEnv'] as
    { env: TestWorkflowEnvironment; databaseUrl: string; codecServer?: Server } | undefined;
  if (!state) return;
  state.codecServer?.close();
  await state.env.teardown();
  // Kept when asked, to inspect what a failing run left behind.
  if (!process.env['KEEP_TEST_DATABASE']) await dropDatabase(state.databaseUrl);
}
