import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowsPath } from '../../worker/create-worker';
import { loadRecordedHistories } from '../support/histories';

/**
 * Every recorded history replays against the workflow code in the working tree. A change to
 * workflows/ that would break a running execution fails here (patch it with `patched()`).
 */
describe('recorded workflow histories', () => {
  const histories = loadRecordedHistories();

  it('has recordings to guard the workflows with', () => {
    expect(histories.length).toBeGreaterThan(0);
  });

  it.each(histories.map((h) => [h.name, h.history] as const))('%s replays deterministically', async (name, history) => {
    await expect(Worker.runReplayHistory({ workflowsPath: workflowsPath() }, history, name)).resolves.toBeUndefined();
  });

  it('catches a history that the code cannot reproduce (a determinism violation)', async () => {
    const [first] = histories;
    if (!first) throw new Error('no recorded history');
    // Rename the first scheduled activity in the recording: the code schedules a different one
    // than its history says, which is exactly what a non-deterministic change looks like.
    const tampered = structuredClone(first.history);
    const scheduled = tampered.events?.find(
      (e) => e.activityTaskScheduledEventAttributes,
    )?.activityTaskScheduledEventAttributes;
    if (!scheduled?.activityType) throw new Error(`${first.name} schedules no activity`);
    scheduled.activityType.name = 'anActivityTheCodeNeverCalls';
    await expect(Worker.runReplayHistory({ workflowsPath: workflowsPath() }, tampered, 'tampered')).rejects.toThrow(
      DeterminismViolationError,
    );
  });
});
