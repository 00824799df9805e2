import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { Config } from '../platform/config';
import { createWorkerMetrics, type WorkerMetrics } from '../platform/metrics';
import { activityMetricsInterceptor } from './activity-metrics';
import { createDataConverter } from '../platform/data-converter';

export interface CreateWorkerOptions {
  config: Pick<Config, 'temporal' | 'shutdownTimeoutMs' | 'payloads'>;
  deps: ActivityDeps;
  connection: NativeConnection;
  /** A prebuilt bundle (tests build it once); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  /** Saga and activity metrics are recorded here; a fresh registry when not given. */
  metrics?: WorkerMetrics;
}

export function workflowsPath(): string {
  return require.resolve('../workflows');
}

/** Written by `npm run build` (scripts/bundle-workflows.ts) beside the compiled code, in dist/. */
export const PREBUILT_WORKFLOW_BUNDLE = 'workflow-bundle.js';

/**
 * The workflows as the worker loads them: the bundle `npm run build` made, when this is the
 * compiled worker and it is there (dist/ is built from one set of sources, so it matches);
 * otherwise the sources, bundled at start (TypeScript under tsx: `npm start`, the tests).
 */
export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const prebuilt = path.resolve(__dirname, '..', PREBUILT_WORKFLOW_BUNDLE);
  if (__filename.endsWith('.js') && existsSync(prebuilt)) return { workflowBundle: { codePath: prebuilt } };
  return { workflowsPath: workflowsPath() };
}

/** The shopflow worker: every workflow and activity on the orders task queue. */
export function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  const { config, deps, connection } = options;
  const metrics = options.metrics ?? createWorkerMetrics();
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: createActivities({ metrics, ...deps }),
    interceptors: { activity: [activityMetricsInterceptor(metrics)] },
    // Every payload the worker writes to history is encrypted (platform/payload-codec.ts).
    dataConverter: createDataConverter(config),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : workflowSource()),
    // Spread only when set: an explicit `undefined` would replace the SDK's default identity.
    ...(options.identity ? { identity: options.identity } : {}),
    // In-flight activities get this long to finish on shutdown before they are cancelled.
    shutdownGraceTime: Math.max(1_000, config.shutdownTimeoutMs - 2_000),
    // Both options come from patches/@temporalio+worker+1.24.0.patch; docs/development.md (Notes, cost per order) says why.
    isolateExecutionTimeout: config.temporal.workflowDeadlockTimeoutMs,
    workflowStackTraces: config.temporal.workflowStackTraces,
  });
}

export function connectWorker(config: Pick<Config, 'temporal'>): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.temporal.address });
}
