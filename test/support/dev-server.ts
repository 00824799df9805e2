import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerDynamicConfigArgs } from '../../dev/temporal-dev-server';
import { shopflowSearchAttributes } from '../../workflows/orders/search-attributes';

/**
 * An ephemeral, in-memory Temporal dev server from the pinned CLI, as tests and benchmarks use it:
 * shopflow's search attributes registered and one task-queue partition (see docs/development.md, "Notes").
 * Its Web UI is off unless `uiPort` is given (the SDK passes `--headless` otherwise).
 */
export function startEphemeralDevServer(
  cliPath: string,
  { uiPort, codecEndpoint }: { uiPort?: number; codecEndpoint?: string } = {},
): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cliPath },
      ip: '127.0.0.1',
      ...(uiPort === undefined ? {} : { uiPort }),
      searchAttributes: shopflowSearchAttributes,
      extraArgs: [...devServerDynamicConfigArgs, ...(codecEndpoint ? ['--ui-codec-endpoint', codecEndpoint] : [])],
    },
  });
}
