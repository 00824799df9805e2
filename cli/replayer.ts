import type { History } from '@temporalio/common/lib/proto-utils';
import type { DataConverter } from '@temporalio/common';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { bundleWorkflows } from '../platform/workflow-bundle';
import { locateDivergence, type Divergence } from './divergence';
import type { NamedHistory } from './history-sources';

/**
 * Replays histories against workflow code, several at a time: one workflow bundle is built and
 * shared by `concurrency` replay workers, each fed its share of the histories.
 */
export interface ReplayOutcome {
  workflowId: string;
  runId: string;
  file?: string;
  ok: boolean;
  divergence?: Divergence;
  error?: string;
}

export interface ReplayOptions {
  workflowsPath: string;
  concurrency: number;
  dataConverter?: DataConverter;
  onResult?: (outcome: ReplayOutcome) => void;
}

export async function replayAll(histories: NamedHistory[], options: ReplayOptions): Promise<ReplayOutcome[]> {
  const workflowBundle = await bundleWorkflows(options.workflowsPath);
  const workerOptions = { workflowBundle, dataConverter: options.dataConverter, replayName: 'shopflow-replay' };
  const lanes = Array.from({ length: Math.max(1, Math.min(options.concurrency, histories.length)) }, (_, lane) =>
    histories.filter((_h, index) => index % options.concurrency === lane),
  );
  const outcomes: ReplayOutcome[] = [];
  await Promise.all(
    lanes.map(async (lane) => {
      const byKey = new Map(lane.map((h, index) => [`${index}`, h]));
      const feed = lane.map((h, index) => ({ workflowId: `${index}`, history: h.history }));
      for await (const result of Worker.runReplayHistories(workerOptions, feed)) {
        const named = byKey.get(result.workflowId)!;
        const outcome: ReplayOutcome = {
          workflowId: named.workflowId,
          runId: named.runId,
          file: named.file,
          ok: !result.error,
        };
        if (result.error) {
          outcome.error = result.error.message;
          outcome.divergence = await locateDivergence(named.history, result.error.message, (prefix) =>
            replaysCleanly(workerOptions, prefix),
          );
        }
        outcomes.push(outcome);
        options.onResult?.(outcome);
      }
    }),
  );
  return outcomes;
}

async function replaysCleanly(
  options: { workflowBundle: WorkflowBundle; dataConverter?: DataConverter },
  history: History,
): Promise<boolean> {
  try {
    await Worker.runReplayHistory(options, history);
    return true;
  } catch {
    return false;
  }
}
