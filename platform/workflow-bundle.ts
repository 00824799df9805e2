import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

/** Webpack's progress chatter hidden; its errors still reach stderr. */
export const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => process.stderr.write(`${message}\n`),
};

/** Bundles workflow code once, for callers that start several workers or replayers from it. */
export async function bundleWorkflows(workflowsPath: string): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  return { code };
}
