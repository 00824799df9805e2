import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import { quietBundlerLogger } from '../../platform/workflow-bundle';
import { eventually, startWorker, testConfig, type RunningWorker } from '../support/platform';
import { repoRoot } from '../support/processes';

/**
 * The worker's two diagnostics of the workflow sandbox, which patches/@temporalio+worker+1.24.0.patch
 * makes settings (docs/development.md, Notes, says what each costs per order):
 *
 * - WORKFLOW_DEADLOCK_TIMEOUT_MS: how long one call into a workflow may compute. With a limit, a
 *   workflow task that computes longer fails (and is retried); with 0 (the default) it runs to its end.
 * - WORKFLOW_STACK_TRACES: whether the `__stack_trace` query (the Web UI's Stack Trace tab) can
 *   answer. Off (the default), it is refused with the SDK's own message.
 */

/** Far more arithmetic than a 50 ms limit allows on any machine (hundreds of ms here). */
const LONG_COMPUTATION_ROUNDS = 200_000_000;

describe('worker diagnostics: deadlock check and stack traces', () => {
  let bundle: WorkflowBundleWithSourceMap;
  let temporal: TemporalClient;
  const workers: RunningWorker[] = [];

  beforeAll(async () => {
    bundle = await bundleWorkflowCode({
      workflowsPath: path.join(repoRoot, 'test', 'fixtures', 'workflows', 'index.ts'),
      logger: quietBundlerLogger,
    });
    temporal = createTemporalClient(testConfig());
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await temporal.close();
  });

  async function workerWith(settings: Record<string, string>) {
    const config = testConfig(settings);
    workers.push(await startWorker(config, {}, bundle));
    return config.temporal.taskQueue;
  }

  it('with a deadlock limit, a workflow task that computes longer fails with a timeout', async () => {
    const taskQueue = await workerWith({ WORKFLOW_DEADLOCK_TIMEOUT_MS: '50' });
    const handle = await temporal.client.workflow.start('computeWithoutYielding', {
      taskQueue,
      workflowId: `deadlock-check-${randomUUID()}`,
      args: [LONG_COMPUTATION_ROUNDS],
    });
    const failure = await eventually(async () => {
      const { events } = await handle.fetchHistory();
      const failed = events?.find((event) => event.workflowTaskFailedEventAttributes);
      return failed?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
    });
    expect(failure).toMatch(/Script execution timed out after 50ms/);
    await handle.terminate('the test saw what it came for');
  });

  it('without a limit (the default), the same workflow task runs to its end', async () => {
    const taskQueue = await workerWith({});
    const result = await temporal.client.workflow.execute('computeWithoutYielding', {
      taskQueue,
      workflowId: `no-deadlock-check-${randomUUID()}`,
      args: [LONG_COMPUTATION_ROUNDS],
      workflowTaskTimeout: '60s',
    });
    expect(typeof result).toBe('number');
  });

  it('with stack traces on, the __stack_trace query shows where the workflow waits', async () => {
    const taskQueue = await workerWith({ WORKFLOW_STACK_TRACES: 'true' });
    const handle = await temporal.client.workflow.start('waitInNamedFunction', {
      taskQueue,
      workflowId: `stack-traces-${randomUUID()}`,
    });
    const stack = await handle.query<string>('__stack_trace');
    // Where the pending promise was made: the function and its line in the workflow's source.
    expect(stack).toMatch(/at waitForever \(.*test\/fixtures\/workflows\/index\.ts:\d+:\d+\)/);
    await handle.terminate('done');
  });

  it('with stack traces off (the default), the query is refused with the reason', async () => {
    const taskQueue = await workerWith({});
    const handle = await temporal.client.workflow.start('waitInNamedFunction', {
      taskQueue,
      workflowId: `no-stack-traces-${randomUUID()}`,
    });
    await expect(handle.query('__stack_trace')).rejects.toThrow('Workflow stack traces are not enabled on this worker');
    // The workflow itself is unharmed: it still answers, and ends when asked.
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  });
});
