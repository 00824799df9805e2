import type { MoveState, ShardMove } from '../../platform/shards/shard-moves';
import { flipMayHaveHappened } from '../../read-models/seller-dashboard/order-facts';

/**
 * The recalculation reads every shard once; a customer flipped from one shard to another between
 * its first read and its last could be missed, so it reads again when the moves say a flip may
 * have happened, and only then.
 */

const move = (partitionKey: string, state: MoveState): ShardMove => ({
  partitionKey,
  rebalanceId: 'r1',
  sourceShardId: 'shard-1',
  targetShardId: 'shard-2',
  state,
});

describe('flipMayHaveHappened', () => {
  it('is false when no move reached its flip meanwhile', () => {
    expect(flipMayHaveHappened([], [])).toBe(false);
    expect(flipMayHaveHappened([move('customer:a', 'PINNED')], [move('customer:a', 'COPIED')])).toBe(false);
    expect(flipMayHaveHappened([], [move('customer:a', 'FENCED')])).toBe(false);
    // Flipped before the first read: the target held the copy all along.
    expect(flipMayHaveHappened([move('customer:a', 'FLIPPED')], [move('customer:a', 'SOURCE_DELETED')])).toBe(false);
    expect(flipMayHaveHappened([move('customer:a', 'SOURCE_DELETED')], [])).toBe(false);
  });

  it('is true when a move reached its flip, or finished, meanwhile', () => {
    expect(flipMayHaveHappened([move('customer:a', 'COPIED')], [move('customer:a', 'FLIPPED')])).toBe(true);
    expect(flipMayHaveHappened([], [move('customer:a', 'SOURCE_DELETED')])).toBe(true);
    expect(flipMayHaveHappened([move('customer:a', 'FENCED')], [])).toBe(true);
  });
});
