import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MoveSummary, RebalanceActivities } from '../../activities/rebalance/rebalance';
import { rebalanceStepOptions } from '../activity-options';
import { SagaStep } from '../orders/search-attributes';
import {
  MOVE_BLOCKED_FAILURE,
  rebalanceProgressQuery,
  type RebalanceInput,
  type RebalancePhase,
  type RebalanceProgress,
  type RebalanceResult,
} from './rebalance-contract';
import { ShardKeysMoved, ShardKeysTotal } from './search-attributes';

/** Copies of one key tried before the move is given up (a writer keeps changing the source). */
const COPY_ATTEMPTS = 3;

const steps = proxyActivities<RebalanceActivities>(rebalanceStepOptions);

/**
 * Moves the customers whose rows are not where the ring puts them, one at a time, and makes the
 * JOINING shards ACTIVE (docs/sharding.md, "Rebalancing"). First the keys the new ring would move
 * are fenced while the shards are scanned; then, in one map change, every key to move is pinned
 * to the shard its rows are on and the JOINING shards join the ring, so that routing never points
 * at a shard without the key's rows. Each key then goes: fence, wait until every router has seen
 * the fence, copy, verify, flip the mapping, delete the source's rows, unfence.
 */
export async function rebalanceWorkflow(input: RebalanceInput): Promise<RebalanceResult> {
  const progress: RebalanceProgress = {
    phase: 'fencing-ring',
    total: 0,
    moved: input.carried?.moved ?? 0,
    failed: input.carried?.failed ?? [],
    activated: input.carried?.activated ?? [],
    conflicts: [],
  };
  setHandler(rebalanceProgressQuery, () => progress);
  const rebalanceId = workflowInfo().workflowId;

  const enter = (phase: RebalancePhase): void => {
    progress.phase = phase;
    upsertSearchAttributes([{ key: SagaStep, value: phase }]);
  };

  // A run continued as new has activated its shards already, and its moves are recorded.
  if (!input.carried) {
    enter('fencing-ring');
    const { joining } = await steps.fenceRingChange({ rebalanceId });
    if (joining.length > 0) await sleep(input.fenceSettleMs);
  }
  enter('planning');
  const plan = await steps.planMoves({ rebalanceId });
  progress.activated = [...new Set([...progress.activated, ...plan.activated])];
  progress.conflicts = plan.conflicts;
  progress.total = progress.moved + progress.failed.length + plan.moves.length;
  upsertSearchAttributes([
    { key: ShardKeysTotal, value: progress.total },
    { key: ShardKeysMoved, value: progress.moved },
  ]);

  enter('moving');
  for (const move of plan.moves) {
    const givenUp = await moveKey(move, input.fenceSettleMs, progress);
    if (givenUp === undefined) progress.moved += 1;
    else {
      progress.failed.push({ partitionKey: move.partitionKey, reason: givenUp });
      progress.current = { partitionKey: move.partitionKey, step: 'abandon' };
      await steps.abandonMove({ partitionKey: move.partitionKey });
    }
    progress.current = undefined;
    upsertSearchAttributes([{ key: ShardKeysMoved, value: progress.moved }]);
    setCurrentDetails(`${progress.moved} of ${progress.total} moved, ${progress.failed.length} given up`);
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof rebalanceWorkflow>({
        ...input,
        carried: { moved: progress.moved, failed: progress.failed, activated: progress.activated },
      });
    }
  }
  enter('completed');
  return progress;
}

/**
 * One customer, fence to unfence; why it was given up (before its flip, so it stays where it was),
 * or undefined when it moved. Each step finds what an earlier attempt did and carries on from there.
 */
async function moveKey(
  move: MoveSummary,
  fenceSettleMs: number,
  progress: RebalanceProgress,
): Promise<string | undefined> {
  const { partitionKey } = move;
  const step = (name: string): void => {
    progress.current = { partitionKey, step: name };
  };
  step('fence');
  const { state } = await steps.fenceMove({ partitionKey });
  // Freshly fenced (or fenced by a run that died before it waited): routers may still hold the
  // older map for up to their staleness, so wait that out before reading rows to copy.
  if (state === 'FENCED') await sleep(fenceSettleMs);

  let flipped = state === 'FLIPPED' || state === 'SOURCE_DELETED';
  for (let attempt = 1; ; attempt++) {
    try {
      step('copy');
      await steps.copyMove({ partitionKey });
    } catch (error) {
      if (isMoveBlocked(error)) return error.cause.message;
      throw error;
    }
    step('verify');
    const verified = await steps.verifyMove({ partitionKey });
    if (!verified.equal) {
      // Past the flip the target's rows are the key's: copy again until they agree.
      if (!flipped && attempt >= COPY_ATTEMPTS) return `copies kept differing: ${verified.differences.join('; ')}`;
      continue;
    }
    step('flip');
    await steps.flipMove({ partitionKey });
    flipped = true;
    step('delete-source');
    // The source changed after the copy (a writer with an old map): copy again; the key stays
    // fenced and mapped to the target, so nothing is lost however often this happens.
    const deleted = await steps.deleteMoveSource({ partitionKey });
    if (deleted.deleted) break;
  }
  step('unfence');
  await steps.unfenceMove({ partitionKey });
  return undefined;
}

function isMoveBlocked(error: unknown): error is ActivityFailure & { cause: ApplicationFailure } {
  return (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.type === MOVE_BLOCKED_FAILURE
  );
}
