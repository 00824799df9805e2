import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { loadConfig } from '../../platform/config';
import { createDataConverter } from '../../platform/data-converter';
import { workflowsPath } from '../../worker/create-worker';
import { loadRecordedHistories } from '../support/histories';

/**
 * Every recorded history replays against the workflow code in the working tree. A change to
 * workflows/ that would break a running execution fails here (patch it with `patched()`).
 */
describe('recorded workflow histories', () => {
  const histories = loadRecordedHistories();
  // The worker's own converter: the recordings predate encryption, and plain payloads still decode.
  const dataConverter = createDataConverter(loadConfig({}));

  it('has recordings to guard the workflows with', () => {
    expect(histories.length).toBeGreaterThan(0);
  });

  it('replays every recording deterministically', async () => {
    // One bundle for all recordings: runReplayHistories reports each history's outcome.
    const outcomes: { name: string; error?: string }[] = [];
    const results = Worker.runReplayHistories(
      { workflowsPath: workflowsPath(), dataConverter },
      histories.map(({ name, history }) => ({ workflowId: name, history })),
    );
    for await (const result of results) {
      outcomes.push({ name: result.workflowId, ...(result.error ? { error: String(result.error) } : {}) });
    }
    expect(outcomes).toEqual(histories.map(({ name }) => ({ name })));
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
    await expect(
      Worker.runReplayHistory({ workflowsPath: workflowsPath(), dataConverter }, tampered, 'tampered'),
    ).rejects.toThrow(DeterminismViolationError);
  });
});
