import { HashRing } from '../../domain/sharding/hash-ring';
import type { Database } from '../database';
import { ringHash } from './ring-hash';
import { bumpVersion, placePartitionKey, ShardMapError } from './shard-map';

/**
 * The moves of partition keys between shards, as the shard map records them (`shard_moves`): one
 * row per key being moved, whose state is the key's write fence and the rebalancer's progress.
 * Each change is idempotent (a step retried after a crash finds its work done and does nothing),
 * and each change the routers must see (fence, flip, unfence) bumps the map version.
 *
 *   PINNED          planned; the key is mapped to its source and writable
 *   FENCED          writes refused (PartitionFencedError); rows may now be copied
 *   COPIED          the target holds a copy of the source's rows
 *   FLIPPED         the key is mapped to the target (still fenced)
 *   SOURCE_DELETED  the source's rows are gone; unfencing deletes the row
 */

export const MOVE_STATES = ['PINNED', 'FENCED', 'COPIED', 'FLIPPED', 'SOURCE_DELETED'] as const;
export type MoveState = (typeof MOVE_STATES)[number];

export interface ShardMove {
  partitionKey: string;
  rebalanceId: string;
  sourceShardId: string;
  targetShardId: string;
  state: MoveState;
}

const rank = (state: MoveState): number => MOVE_STATES.indexOf(state);

export function isPastOrAt(state: MoveState, step: MoveState): boolean {
  return rank(state) >= rank(step);
}

function asMove(row: {
  partitionKey: string;
  rebalanceId: string;
  sourceShardId: string;
  targetShardId: string;
  state: string;
}): ShardMove {
  const { partitionKey, rebalanceId, sourceShardId, targetShardId, state } = row;
  return { partitionKey, rebalanceId, sourceShardId, targetShardId, state: state as MoveState };
}

export async function listMoves(db: Database): Promise<ShardMove[]> {
  return (await db.shardMove.findMany({ orderBy: { partitionKey: 'asc' } })).map(asMove);
}

/** The move of `partitionKey`; ShardMapError when there is none (it was finished or abandoned). */
export async function readMove(db: Database, partitionKey: string): Promise<ShardMove> {
  const row = await db.shardMove.findUnique({ where: { partitionKey } });
  if (!row) throw new ShardMapError(`no move of ${partitionKey} is under way`);
  return asMove(row);
}

/**
 * Sets or lifts the fence on every key the ring would move once the JOINING shards are ACTIVE
 * (the router fences them while the flag is set). Bumps the map version when it changes anything.
 */
export async function setRingChangeFence(db: Database, fenced: boolean): Promise<void> {
  await db.$transaction(async (tx) => {
    const { ringChangeFenced } = await tx.shardMap.findUniqueOrThrow({ where: { id: true } });
    if (ringChangeFenced === fenced) return;
    await bumpVersion(tx);
    await tx.shardMap.update({ where: { id: true }, data: { ringChangeFenced: fenced } });
  });
}

/**
 * Records the planned moves (PINNED, each key mapped to the shard its rows are on) and makes the
 * JOINING shards ACTIVE, in one map change: the ring changes and every key it would move without
 * its rows is held where its rows are, at the same version. Lifts the ring-change fence. Moves
 * already recorded are left as they are.
 */
export async function pinMovesAndActivate(
  db: Database,
  input: { rebalanceId: string; moves: readonly Omit<ShardMove, 'state' | 'rebalanceId'>[]; activate: string[] },
): Promise<number> {
  return db.$transaction(
    async (tx) => {
      const version = await bumpVersion(tx);
      for (const move of input.moves) {
        const { count } = await tx.shardMove.createMany({
          data: [{ ...move, rebalanceId: input.rebalanceId, state: 'PINNED' }],
          skipDuplicates: true,
        });
        if (count === 1) await placePartitionKey(tx, move.partitionKey, move.sourceShardId, version);
      }
      await tx.shard.updateMany({ where: { id: { in: input.activate }, state: 'JOINING' }, data: { state: 'ACTIVE' } });
      await tx.shardMap.update({ where: { id: true }, data: { ringChangeFenced: false } });
      return version;
    },
    { timeout: 60_000 },
  );
}

/** PINNED -> FENCED (the map version bumped, so routers learn of it); the move's state after. */
export async function fenceMove(db: Database, partitionKey: string): Promise<MoveState> {
  return db.$transaction(async (tx) => {
    const move = await tx.shardMove.findUnique({ where: { partitionKey } });
    if (!move) throw new ShardMapError(`no move of ${partitionKey} is under way`);
    if (move.state !== 'PINNED') return move.state as MoveState;
    await bumpVersion(tx);
    await tx.shardMove.update({
      where: { partitionKey },
      data: { state: 'FENCED', fencedAt: new Date(), updatedAt: new Date() },
    });
    return 'FENCED';
  });
}

/** Moves the state forward to `state` (never back); routers need not know, so the version stays. */
export async function advanceMove(
  db: Database,
  partitionKey: string,
  state: 'COPIED' | 'SOURCE_DELETED',
): Promise<void> {
  const earlier = MOVE_STATES.slice(0, rank(state));
  await db.shardMove.updateMany({
    where: { partitionKey, state: { in: [...earlier] } },
    data: { state, updatedAt: new Date() },
  });
}

/** Maps the key to its target (still fenced) with a new map version: from now on the target's rows are the key's. */
export async function flipMove(db: Database, partitionKey: string): Promise<void> {
  await db.$transaction(async (tx) => {
    const move = await tx.shardMove.findUnique({ where: { partitionKey } });
    if (!move) throw new ShardMapError(`no move of ${partitionKey} is under way`);
    if (isPastOrAt(move.state as MoveState, 'FLIPPED')) return;
    if (move.state !== 'COPIED') throw new ShardMapError(`${partitionKey} is ${move.state}: copy it before the flip`);
    const version = await bumpVersion(tx);
    await placePartitionKey(tx, partitionKey, move.targetShardId, version);
    await tx.shardMove.update({ where: { partitionKey }, data: { state: 'FLIPPED', updatedAt: new Date() } });
  });
}

/**
 * Ends a move whose source rows are gone: the fence is lifted and, when the ring of ACTIVE shards
 * places the key on its target anyway, the mapping goes too (the ring decides again).
 */
export async function finishMove(db: Database, partitionKey: string, options: { virtualNodes?: number } = {}) {
  await db.$transaction(async (tx) => {
    const move = await tx.shardMove.findUnique({ where: { partitionKey } });
    if (!move) return;
    if (move.state !== 'SOURCE_DELETED')
      throw new ShardMapError(`${partitionKey} is ${move.state}: delete the source rows before unfencing`);
    await bumpVersion(tx);
    await tx.shardMove.delete({ where: { partitionKey } });
    const active = await tx.shard.findMany({ where: { state: 'ACTIVE' }, select: { id: true } });
    const ring = active.length
      ? new HashRing(
          active.map((s) => s.id),
          { hash: ringHash, virtualNodes: options.virtualNodes },
        )
      : undefined;
    if (ring?.shardOf(partitionKey) === move.targetShardId)
      await tx.shardMapping.deleteMany({ where: { partitionKey, shardId: move.targetShardId } });
  });
}

/**
 * Gives up a move before its flip: the key stays mapped to its source, where its rows are, and
 * its fence is lifted. Refused after the flip, when the target's rows are the key's.
 */
export async function abandonMove(db: Database, partitionKey: string): Promise<void> {
  await db.$transaction(async (tx) => {
    const move = await tx.shardMove.findUnique({ where: { partitionKey } });
    if (!move) return;
    if (isPastOrAt(move.state as MoveState, 'FLIPPED'))
      throw new ShardMapError(`${partitionKey} is ${move.state}: past its flip, a move can only be finished`);
    await bumpVersion(tx);
    await tx.shardMove.delete({ where: { partitionKey } });
  });
}
