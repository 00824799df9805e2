import { ApplicationFailure } from '@temporalio/common';
import { customerIdFromPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import { isUniqueViolation } from '../../platform/database-errors';
import {
  copyCustomerRows,
  deleteCustomerRows,
  deleteCustomerRowsIfUnchanged,
  digestCustomerRows,
  digestDifferences,
  totalRows,
} from '../../platform/shards/customer-rows';
import { planRebalance } from '../../platform/shards/rebalance-plan';
import type { ShardRouter } from '../../platform/shards/router';
import {
  abandonMove,
  advanceMove,
  fenceMove,
  finishMove,
  flipMove,
  isPastOrAt,
  pinMovesAndActivate,
  readMove,
  setRingChangeFence,
  type MoveState,
  type ShardMove,
} from '../../platform/shards/shard-moves';
import { readShardMap } from '../../platform/shards/shard-map';
import { MOVE_BLOCKED_FAILURE } from '../../workflows/rebalance/rebalance-contract';

/**
 * The rebalance workflow's steps (workflows/rebalance/rebalance.ts): plan which customers move and
 * make JOINING shards ACTIVE, then for one customer at a time fence, copy, verify, flip, delete
 * the source's rows and unfence. Every step is idempotent: the worker may die anywhere and the
 * step run again, and it reads the move's recorded state to find what is already done.
 */

export interface RebalanceActivityDeps {
  /** The catalogue database: the shard map and its moves. */
  db: Database;
  /** Reaches each shard's database by id. */
  shards?: ShardRouter;
}

export interface RebalanceStepInput {
  rebalanceId: string;
}

export interface RingChangeFenceResult {
  /** JOINING shards whose activation is now fenced; none: nothing was fenced. */
  joining: string[];
}

export interface MoveSummary {
  partitionKey: string;
  sourceShardId: string;
  targetShardId: string;
  state: MoveState;
}

export interface PlanMovesResult {
  /** Shards made ACTIVE. */
  activated: string[];
  mapVersion: number;
  /** Every move to carry out, an earlier run's unfinished ones first. */
  moves: MoveSummary[];
  conflicts: string[];
}

export interface MoveKeyInput {
  partitionKey: string;
}

export interface FenceMoveResult {
  state: MoveState;
}

export interface CopyMoveResult {
  /** Rows written to the target; 0 when the copy was already done and the source is gone. */
  rows: number;
}

export interface VerifyMoveResult {
  equal: boolean;
  /** Tables that differ, when not equal. */
  differences: string[];
  rows: number;
}

export interface DeleteSourceResult {
  /** False when the source changed since the copy: copy and verify again. */
  deleted: boolean;
  rows: number;
  differences: string[];
}

export function createRebalanceActivities(deps: RebalanceActivityDeps) {
  const router = (): ShardRouter => {
    if (!deps.shards) throw new Error('the worker has no shard router (ActivityDeps.shards)');
    return deps.shards;
  };
  const customerOf = (move: ShardMove): string => customerIdFromPartitionKey(move.partitionKey)!;
  const sides = async (move: ShardMove) => ({
    source: await router().database(move.sourceShardId),
    target: await router().database(move.targetShardId),
  });
  /** After the flip, a source without the customer is one whose rows were deleted (by an attempt that died before recording it). */
  const sourceGone = async (move: ShardMove, source: Database): Promise<boolean> =>
    isPastOrAt(move.state, 'FLIPPED') && (await source.customer.count({ where: { id: customerOf(move) } })) === 0;

  return {
    /** Fences the keys the ring would move once JOINING shards are ACTIVE (nothing when none is joining). */
    async fenceRingChange(_input: RebalanceStepInput): Promise<RingChangeFenceResult> {
      const map = await readShardMap(deps.db);
      const joining = map.shards.filter((s) => s.state === 'JOINING').map((s) => s.id);
      if (joining.length > 0) await setRingChangeFence(deps.db, true);
      return { joining };
    },

    /** Finds the keys to move, pins each to its source and activates JOINING shards in one map change. */
    async planMoves(input: RebalanceStepInput): Promise<PlanMovesResult> {
      const plan = await planRebalance(deps.db, router());
      const fresh = plan.moves.filter((m) => m.state === 'NEW');
      const mapVersion = await pinMovesAndActivate(deps.db, {
        rebalanceId: input.rebalanceId,
        moves: fresh.map(({ partitionKey, sourceShardId, targetShardId }) => ({
          partitionKey,
          sourceShardId,
          targetShardId,
        })),
        activate: plan.activate,
      });
      await router().refresh();
      return {
        activated: plan.activate,
        mapVersion,
        moves: plan.moves.map(({ partitionKey, sourceShardId, targetShardId, state }) => ({
          partitionKey,
          sourceShardId,
          targetShardId,
          state: state === 'NEW' ? 'PINNED' : state,
        })),
        conflicts: plan.conflicts.map((c) => `${c.partitionKey} is on ${c.shardIds.join(' and ')}`),
      };
    },

    async fenceMove({ partitionKey }: MoveKeyInput): Promise<FenceMoveResult> {
      return { state: await fenceMove(deps.db, partitionKey) };
    },

    /** Makes the target's rows of the key the source's (replacing an earlier attempt's copy). */
    async copyMove({ partitionKey }: MoveKeyInput): Promise<CopyMoveResult> {
      const move = await readMove(deps.db, partitionKey);
      if (move.state === 'PINNED') throw new Error(`${partitionKey} is not fenced yet: fence it before copying`);
      if (move.state === 'SOURCE_DELETED') return { rows: 0 };
      const { source, target } = await sides(move);
      // API keys and reviews naming the customer stay in the catalogue (no foreign key crosses the
      // partition boundary, and nothing reads a customer there): they never hold a customer back.
      try {
        const copied = await copyCustomerRows(source, target, customerOf(move));
        await advanceMove(deps.db, partitionKey, 'COPIED');
        return { rows: copied?.rows ?? 0 };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw ApplicationFailure.nonRetryable(
          `${partitionKey} cannot be copied to shard ${move.targetShardId}: ${error instanceof Error ? error.message : String(error)}`,
          MOVE_BLOCKED_FAILURE,
        );
      }
    },

    /** Counts and checksums of every table of the key, on both sides. */
    async verifyMove({ partitionKey }: MoveKeyInput): Promise<VerifyMoveResult> {
      const move = await readMove(deps.db, partitionKey);
      const { source, target } = await sides(move);
      const targetDigest = await digestCustomerRows(target, customerOf(move));
      if (move.state === 'SOURCE_DELETED' || (await sourceGone(move, source)))
        return { equal: true, differences: [], rows: totalRows(targetDigest) };
      const differences = digestDifferences(await digestCustomerRows(source, customerOf(move)), targetDigest);
      return { equal: differences.length === 0, differences, rows: totalRows(targetDigest) };
    },

    async flipMove({ partitionKey }: MoveKeyInput): Promise<void> {
      await flipMove(deps.db, partitionKey);
    },

    /** Deletes the source's rows if they are still what the target holds. */
    async deleteMoveSource({ partitionKey }: MoveKeyInput): Promise<DeleteSourceResult> {
      const move = await readMove(deps.db, partitionKey);
      if (move.state === 'SOURCE_DELETED') return { deleted: true, rows: 0, differences: [] };
      if (move.state !== 'FLIPPED')
        throw new Error(`${partitionKey} is ${move.state}: flip it before deleting its source`);
      const { source, target } = await sides(move);
      if (!(await sourceGone(move, source))) {
        const expected = await digestCustomerRows(target, customerOf(move));
        const outcome = await deleteCustomerRowsIfUnchanged(source, customerOf(move), expected);
        if ('changed' in outcome) return { deleted: false, rows: 0, differences: outcome.changed };
        await advanceMove(deps.db, partitionKey, 'SOURCE_DELETED');
        return { deleted: true, rows: outcome.deleted, differences: [] };
      }
      await advanceMove(deps.db, partitionKey, 'SOURCE_DELETED');
      return { deleted: true, rows: 0, differences: [] };
    },

    /** Lifts the fence: the key's writes go to its new shard. */
    async unfenceMove({ partitionKey }: MoveKeyInput): Promise<void> {
      await finishMove(deps.db, partitionKey);
      await router().refresh();
    },

    /** Gives a move up before its flip: the target's copy goes, the key stays on its source, unfenced. */
    async abandonMove({ partitionKey }: MoveKeyInput): Promise<void> {
      const move = await deps.db.shardMove.findUnique({ where: { partitionKey } });
      if (!move) return;
      if (!isPastOrAt(move.state as MoveState, 'FLIPPED'))
        await deleteCustomerRows(
          await router().database(move.targetShardId),
          customerIdFromPartitionKey(partitionKey)!,
        );
      await abandonMove(deps.db, partitionKey);
    },
  };
}

export type RebalanceActivities = ReturnType<typeof createRebalanceActivities>;
