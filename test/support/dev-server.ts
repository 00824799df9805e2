import { TestWorkflowEnvironment } from '@temporalio/testing';
import { singlePartitionArgs } from '../../lib/temporal-dev-server';
import { shopflowSearchAttributes } from '../../workflows/search-attributes';

/**
 * An ephemeral, in-memory Temporal dev server from the pinned CLI, as tests and benchmarks use it:
 * shopflow's search attributes registered and one task-queue partition (see README, "Notes").
 */
export function startEphemeralDevServer(cliPath: string): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cliPath },
      ip: '127.0.0.1',
      searchAttributes: shopflowSearchAttributes,
      extraArgs: singlePartitionArgs,
    },
  });
}
