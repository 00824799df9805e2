import { HashRing } from '../../domain/sharding/hash-ring';
import { customerIdFromPartitionKey, customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../database';
import { connectionErrorMessage, printableUrl } from '../postgres-admin';
import { customerIdsIn } from './customer-rows';
import { ringHash } from './ring-hash';
import type { ShardRouter } from './router';
import { readShardMap } from './shard-map';
import { listMoves, type MoveState } from './shard-moves';

/**
 * What a rebalance would do now: which customers' rows sit on a shard other than the one the ring
 * of ACTIVE and JOINING shards gives them, and which JOINING shards it makes ACTIVE. Found by
 * looking at where the rows are (every shard's customers), not by comparing two rings, so that a
 * rebalance interrupted halfway, or a customer written on a shard before the ring changed, is
 * planned like any other key. Keys pinned by an operator (mapped, with no move) stay where they are.
 */

export interface PlannedMove {
  partitionKey: string;
  customerId: string;
  sourceShardId: string;
  targetShardId: string;
  /** A new move is PINNED once planned; a move an earlier run began keeps its state. */
  state: MoveState | 'NEW';
}

export interface RebalancePlan {
  mapVersion: number;
  /** JOINING shards the rebalance makes ACTIVE. */
  activate: string[];
  /** Moves already under way (an earlier run's) first, then new ones, each in key order. */
  moves: PlannedMove[];
  /** Customers found on more than one shard with no move under way: left alone for an operator. */
  conflicts: { partitionKey: string; shardIds: string[] }[];
  /** Customers per shard, as found. */
  customersPerShard: Record<string, number>;
}

/** A shard whose customers could not be listed: nothing can be planned without them. */
export class ShardUnreachableError extends Error {
  constructor(
    readonly shardId: string,
    url: string,
    reason: string,
  ) {
    super(`cannot reach shard ${shardId} at ${url}: ${reason}`);
    this.name = 'ShardUnreachableError';
  }
}

export async function planRebalance(
  catalogue: Database,
  router: ShardRouter,
  options: { virtualNodes?: number } = {},
): Promise<RebalancePlan> {
  const map = await readShardMap(catalogue);
  const underWay = await listMoves(catalogue);
  const moving = new Set(underWay.map((m) => m.partitionKey));
  const owners = map.shards.filter((s) => s.state === 'ACTIVE' || s.state === 'JOINING').map((s) => s.id);
  const ring = owners.length ? new HashRing(owners, { hash: ringHash, virtualNodes: options.virtualNodes }) : undefined;

  const locations = new Map<string, string[]>();
  const customersPerShard: Record<string, number> = {};
  for (const shard of map.shards) {
    let ids: string[];
    try {
      ids = await customerIdsIn(await router.database(shard.id));
    } catch (error) {
      // Prisma's message quotes the call site first; its last line is the reason.
      const reason = connectionErrorMessage(error).trim().split('\n').at(-1)!.trim();
      throw new ShardUnreachableError(shard.id, printableUrl(shard.databaseUrl), reason);
    }
    customersPerShard[shard.id] = ids.length;
    for (const id of ids) locations.set(id, [...(locations.get(id) ?? []), shard.id]);
  }

  const moves: PlannedMove[] = underWay.map((m) => ({
    partitionKey: m.partitionKey,
    customerId: customerIdFromPartitionKey(m.partitionKey)!,
    sourceShardId: m.sourceShardId,
    targetShardId: m.targetShardId,
    state: m.state,
  }));
  const conflicts: RebalancePlan['conflicts'] = [];
  const fresh: PlannedMove[] = [];
  for (const [customerId, shardIds] of locations) {
    const partitionKey = customerPartitionKey(customerId);
    if (moving.has(partitionKey) || map.mappings.has(partitionKey) || !ring) continue;
    if (shardIds.length > 1) {
      conflicts.push({ partitionKey, shardIds });
      continue;
    }
    const targetShardId = ring.shardOf(partitionKey);
    if (shardIds[0] !== targetShardId)
      fresh.push({ partitionKey, customerId, sourceShardId: shardIds[0]!, targetShardId, state: 'NEW' });
  }
  fresh.sort((a, b) => a.partitionKey.localeCompare(b.partitionKey));
  return {
    mapVersion: map.version,
    activate: map.shards.filter((s) => s.state === 'JOINING').map((s) => s.id),
    moves: [...moves, ...fresh],
    conflicts,
    customersPerShard,
  };
}
