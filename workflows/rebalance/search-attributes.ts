import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * What the Web UI shows of a rebalance beside its `SagaStep` (its phase): how many partition keys
 * it has to move and how many are moved, so `ShardKeysMoved < ShardKeysTotal` finds one under way.
 * Registered with the order's attributes (workflows/orders/search-attributes.ts).
 */
export const ShardKeysTotal = defineSearchAttributeKey('ShardKeysTotal', SearchAttributeType.INT);
export const ShardKeysMoved = defineSearchAttributeKey('ShardKeysMoved', SearchAttributeType.INT);

export const rebalanceSearchAttributes = [ShardKeysTotal, ShardKeysMoved];
