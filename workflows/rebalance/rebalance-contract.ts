import { defineQuery } from '@temporalio/workflow';

/**
 * What the CLI and tests may say to the rebalance workflow and what it answers; kept apart from
 * the workflow so clients import names and types only. New fields are optional: an older history
 * keeps replaying.
 */

/**
 * One rebalance at a time per shard map: every run for the map kept in the catalogue database
 * `catalogueDatabase` has this id, and starting a second while one runs is refused (the CLI starts
 * it with the id conflict policy FAIL).
 */
export function rebalanceWorkflowId(catalogueDatabase: string): string {
  return `shard-rebalance-${catalogueDatabase}`;
}

/** The type of a step's non-retryable failure that gives up one key's move (it stays where it was). */
export const MOVE_BLOCKED_FAILURE = 'MoveBlocked';

export interface RebalanceInput {
  /**
   * How long to wait after fencing before copying: at least the longest a router may answer from
   * an older map (its `maxStalenessMs`), so that no writer still routes to the rows being copied.
   */
  fenceSettleMs: number;
  /** Who asked (shown in the summary). */
  requestedBy?: string;
  /** Carried over by continue-as-new. */
  carried?: { moved: number; failed: FailedMove[]; activated: string[] };
}

export interface FailedMove {
  partitionKey: string;
  reason: string;
}

export type RebalancePhase = 'fencing-ring' | 'planning' | 'moving' | 'completed';

export interface RebalanceProgress {
  phase: RebalancePhase;
  /** Keys to move in all (moved, failed and still to go). */
  total: number;
  moved: number;
  failed: FailedMove[];
  /** The key being moved, and its step. */
  current?: { partitionKey: string; step: string };
  /** JOINING shards this rebalance made ACTIVE. */
  activated: string[];
  /** Customers on more than one shard, left alone. */
  conflicts: string[];
}

export type RebalanceResult = RebalanceProgress;

export const rebalanceProgressQuery = defineQuery<RebalanceProgress>('rebalanceProgress');

/** The Web UI's one-line summary of a rebalance, set when it starts. */
export function rebalanceSummary(input: { keysToMove: number; activate: string[] }): string {
  const joining = input.activate.length > 0 ? `, activates ${input.activate.join(', ')}` : '';
  return `shard rebalance: ${input.keysToMove} customer${input.keysToMove === 1 ? '' : 's'} to move${joining}`;
}
