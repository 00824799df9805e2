import type { Database, Tx } from '../database';
import { ringHash } from './ring-hash';

/**
 * The shard map in the catalogue database (tables `shards`, `shard_mappings`, `shard_map`;
 * docs/sharding.md): reading it whole, reading its version, and changing it. Every change bumps
 * the version in its own transaction, so a router that compares versions never misses one.
 */

export type ShardState = 'JOINING' | 'ACTIVE';

/** The catalogue database standing in as the only shard while no registered shard owns keys. */
export const DEFAULT_SHARD_ID = 'default';

export interface ShardInfo {
  id: string;
  databaseUrl: string;
  region: string;
  state: ShardState;
}

export interface ShardMapSnapshot {
  version: number;
  shards: ShardInfo[];
  /** Partition keys placed explicitly, each with its shard id. */
  mappings: Map<string, string>;
  /** Partition keys whose writes are fenced: a move of theirs is under way (shard_moves). */
  fenced: Set<string>;
  /**
   * A rebalance is making the JOINING shards ACTIVE: keys (without a mapping) that the ring of
   * ACTIVE and JOINING shards places elsewhere than today's ring are fenced too.
   */
  ringChangeFenced: boolean;
}

/** A shard id that is not in the map: a mistake of the caller's, never retried. */
export class UnknownShardError extends Error {
  constructor(shardId: string, known: readonly string[]) {
    super(`no shard "${shardId}" in the shard map (known: ${known.length > 0 ? known.join(', ') : 'none'})`);
    this.name = 'UnknownShardError';
  }
}

export class ShardMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardMapError';
  }
}

/** Lower-case words joined by dashes: a shard id appears in logs, metrics and commands. */
const SHARD_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** The width of `shards.id`. */
export const MAX_SHARD_ID_LENGTH = 50;

export function isShardId(id: string): boolean {
  return SHARD_ID.test(id) && id.length <= MAX_SHARD_ID_LENGTH;
}

export async function shardMapVersion(db: Database): Promise<number> {
  const row = await db.shardMap.findUniqueOrThrow({ where: { id: true }, select: { version: true } });
  return row.version;
}

/** The whole map as of one moment (one repeatable-read transaction: version and rows agree). */
export async function readShardMap(db: Database): Promise<ShardMapSnapshot> {
  return db.$transaction(
    async (tx) => {
      const [{ version, ringChangeFenced }, shards, mappings, fenced] = await Promise.all([
        tx.shardMap.findUniqueOrThrow({ where: { id: true }, select: { version: true, ringChangeFenced: true } }),
        tx.shard.findMany({ orderBy: { id: 'asc' } }),
        tx.shardMapping.findMany({ select: { partitionKey: true, shardId: true } }),
        tx.shardMove.findMany({ where: { state: { not: 'PINNED' } }, select: { partitionKey: true } }),
      ]);
      return {
        version,
        ringChangeFenced,
        fenced: new Set(fenced.map((m) => m.partitionKey)),
        shards: shards.map(({ id, databaseUrl, region, state }) => ({
          id,
          databaseUrl,
          region,
          state: state as ShardState,
        })),
        mappings: new Map(mappings.map((m) => [m.partitionKey, m.shardId])),
      };
    },
    { isolationLevel: 'RepeatableRead' },
  );
}

/** Bumps the version inside `tx`; the row lock it takes also serialises concurrent changes. */
export async function bumpVersion(tx: Tx): Promise<number> {
  const { version } = await tx.shardMap.update({ where: { id: true }, data: { version: { increment: 1 } } });
  return version;
}

/** Registers a shard (JOINING unless told otherwise); returns the new map version. */
export async function registerShard(
  db: Database,
  shard: Omit<ShardInfo, 'state'> & { state?: ShardState },
): Promise<number> {
  if (!isShardId(shard.id))
    throw new ShardMapError(`shard id "${shard.id}" must be lower-case letters and digits joined by dashes`);
  if (shard.id === DEFAULT_SHARD_ID)
    throw new ShardMapError(`shard id "${DEFAULT_SHARD_ID}" is the catalogue database's own; choose another`);
  return db.$transaction(async (tx) => {
    const version = await bumpVersion(tx);
    const clash = await tx.shard.findFirst({
      where: { OR: [{ id: shard.id }, { databaseUrl: shard.databaseUrl }] },
      select: { id: true },
    });
    if (clash) throw new ShardMapError(`shard "${clash.id}" already exists or already uses that database`);
    await tx.shard.create({ data: { ...shard, state: shard.state ?? 'JOINING' } });
    return version;
  });
}

export async function setShardState(db: Database, shardId: string, state: ShardState): Promise<number> {
  return db.$transaction(async (tx) => {
    const version = await bumpVersion(tx);
    const { count } = await tx.shard.updateMany({ where: { id: shardId }, data: { state } });
    if (count === 0) throw new UnknownShardError(shardId, await shardIdsIn(tx));
    return version;
  });
}

/**
 * Places `partitionKey` on `shardId` whatever the ring says (a customer pinned, or moved by the
 * rebalancer); returns the new map version.
 */
export async function assignPartitionKey(db: Database, partitionKey: string, shardId: string): Promise<number> {
  return db.$transaction(async (tx) => {
    const version = await bumpVersion(tx);
    await placePartitionKey(tx, partitionKey, shardId, version);
    return version;
  });
}

/** The mapping of `partitionKey` to `shardId`, written in `tx` at map `version` (bumped by the caller). */
export async function placePartitionKey(tx: Tx, partitionKey: string, shardId: string, version: number): Promise<void> {
  const shard = await tx.shard.findUnique({ where: { id: shardId } });
  if (!shard) throw new UnknownShardError(shardId, await shardIdsIn(tx));
  const placement = {
    shardId,
    databaseUrl: shard.databaseUrl,
    region: shard.region,
    mapVersion: version,
    updatedAt: new Date(),
  };
  await tx.shardMapping.upsert({
    where: { partitionKey },
    create: { partitionKey, hashValue: BigInt(ringHash(partitionKey)), ...placement },
    update: placement,
  });
}

/** Lets the ring place `partitionKey` again; returns the new map version. */
export async function unassignPartitionKey(db: Database, partitionKey: string): Promise<number> {
  return db.$transaction(async (tx) => {
    const version = await bumpVersion(tx);
    await tx.shardMapping.deleteMany({ where: { partitionKey } });
    return version;
  });
}

async function shardIdsIn(tx: Tx): Promise<string[]> {
  return (await tx.shard.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((s) => s.id);
}

/**
 * Takes a shard out of the map; returns the new map version. The caller checks first that it owns
 * no key (platform/shards/shard-admin.ts); mappings and moves that name it refuse the delete.
 */
export async function deregisterShard(db: Database, shardId: string): Promise<number> {
  return db.$transaction(async (tx) => {
    const version = await bumpVersion(tx);
    const { count } = await tx.shard.deleteMany({ where: { id: shardId } });
    if (count === 0) throw new UnknownShardError(shardId, await shardIdsIn(tx));
    return version;
  });
}

/**
 * The database URL of every registered shard, read with plain SQL (the relay runs without Prisma).
 * Work that each database does for itself (relaying its outbox) runs once per URL.
 */
export async function shardDatabaseUrls(sql: { query<R>(text: string): Promise<{ rows: R[] }> }): Promise<string[]> {
  const { rows } = await sql.query<{ database_url: string }>('SELECT database_url FROM shards ORDER BY id');
  return rows.map((row) => row.database_url);
}
