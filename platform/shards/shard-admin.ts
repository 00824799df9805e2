import { createDatabase, type Database } from '../database';
import type { Logger } from '../logger';
import { migrate, migrationStatus } from '../migrations';
import {
  connectionErrorMessage,
  databaseName,
  dropDatabase,
  ensureDatabase,
  printableUrl,
  whyPostgresIsNotAnswering,
} from '../postgres-admin';
import { customerIdsIn } from './customer-rows';
import {
  DEFAULT_SHARD_ID,
  deregisterShard,
  isShardId,
  MAX_SHARD_ID_LENGTH,
  readShardMap,
  registerShard,
  ShardMapError,
  type ShardState,
} from './shard-map';

/**
 * What operators do to the shard map (`shopflow shards`): add a shard, and see how the shards
 * are. Adding checks everything it can before it changes anything, so a refusal leaves the map
 * and the servers as they were.
 */

/** Bad input for a shard: the operator's to fix, never retried (the CLI's exit code 2). */
export class ShardInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardInputError';
  }
}

/** Regions are named like shard ids (eu-west-1): lower-case words joined by dashes. */
const REGION = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** The width of `shards.region`. */
const MAX_REGION_LENGTH = 50;

export interface NewShard {
  id: string;
  databaseUrl: string;
  region: string;
}

/** Checks a new shard's id, URL and region; the message never repeats the URL (it may hold a password). */
export function parseNewShard(input: { id: string; url: string; region: string }): NewShard {
  if (!isShardId(input.id))
    throw new ShardInputError(
      `shard id "${input.id}" must be lower-case letters and digits joined by dashes, at most ${MAX_SHARD_ID_LENGTH} characters`,
    );
  if (input.id === DEFAULT_SHARD_ID)
    throw new ShardInputError(`shard id "${DEFAULT_SHARD_ID}" is the catalogue database's own; choose another`);
  if (!REGION.test(input.region) || input.region.length > MAX_REGION_LENGTH)
    throw new ShardInputError(
      `region "${input.region}" must be lower-case letters and digits joined by dashes (e.g. eu-west-1), at most ${MAX_REGION_LENGTH} characters`,
    );
  if (!isDatabaseUrl(input.url))
    throw new ShardInputError(
      '--url must be a postgres:// or postgresql:// URL with a host and a database name, e.g. postgresql://user:password@host:5432/shopflow',
    );
  return { id: input.id, databaseUrl: input.url, region: input.region };
}

function isDatabaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    if (!['postgres:', 'postgresql:'].includes(url.protocol) || url.hostname === '') return false;
    databaseName(value);
    return true;
  } catch {
    return false;
  }
}

export interface AddedShard {
  id: string;
  region: string;
  state: ShardState;
  /** Printable: the password masked. */
  url: string;
  databaseCreated: boolean;
  migrationsApplied: number;
  mapVersion: number;
}

/**
 * Adds a shard: its server must answer, its database is created if missing and migrated, and it
 * is registered JOINING (it owns no arc of the ring until activated) in one transaction that
 * bumps the map version. Refusals (`ShardInputError`) come before any change; a failure after the
 * database was created here drops it again, so nothing is left half done.
 */
export async function addShard(
  catalogue: Database,
  input: { id: string; url: string; region: string },
  options: { migrationsDir?: string; logger?: Logger } = {},
): Promise<AddedShard> {
  const shard = parseNewShard(input);
  const url = printableUrl(shard.databaseUrl);
  const map = await readShardMap(catalogue);
  const sameId = map.shards.find((s) => s.id === shard.id);
  if (sameId)
    throw new ShardInputError(`shard "${shard.id}" already exists (region ${sameId.region}, ${sameId.state})`);
  const sameDatabase = map.shards.find((s) => s.databaseUrl === shard.databaseUrl);
  if (sameDatabase) throw new ShardInputError(`shard "${sameDatabase.id}" already uses the database ${url}`);
  const unreachable = await whyPostgresIsNotAnswering(shard.databaseUrl);
  if (unreachable) throw new ShardInputError(`cannot reach PostgreSQL at ${url}: ${unreachable}`);

  const databaseCreated = await ensureDatabase(shard.databaseUrl);
  try {
    const { applied } = await migrate(shard.databaseUrl, {
      ...(options.migrationsDir ? { migrationsDir: options.migrationsDir } : {}),
      ...(options.logger ? { logger: options.logger.child({ shard: shard.id }) } : {}),
    });
    const mapVersion = await registerShard(catalogue, shard).catch((error: unknown) => {
      // Another `add` registered the same id or database since the check above.
      throw error instanceof ShardMapError ? new ShardInputError(error.message) : error;
    });
    return {
      id: shard.id,
      region: shard.region,
      state: 'JOINING',
      url,
      databaseCreated,
      migrationsApplied: applied.length,
      mapVersion,
    };
  } catch (error) {
    // A concurrent add of the same database may own it now: only a database no one registered goes.
    if (databaseCreated && !(error instanceof ShardInputError)) await dropDatabase(shard.databaseUrl);
    throw error;
  }
}

export interface ShardStatus {
  id: string;
  region: string;
  state: ShardState;
  url: string;
  reachable: boolean;
  /** Why it is not reachable (or its migrations cannot be read). */
  problem?: string;
  migrationsApplied?: number;
  pendingMigrations?: string[];
  mappedKeys: number;
}

export interface ShardMapStatus {
  mapVersion: number;
  shards: ShardStatus[];
}

/** Each registered shard: does it answer, is its schema up to date, how many keys are pinned to it. */
export async function shardMapStatus(
  catalogue: Database,
  options: { migrationsDir?: string } = {},
): Promise<ShardMapStatus> {
  const map = await readShardMap(catalogue);
  const mappedKeys = new Map<string, number>();
  for (const shardId of map.mappings.values()) mappedKeys.set(shardId, (mappedKeys.get(shardId) ?? 0) + 1);
  const shards = await Promise.all(
    map.shards.map(async (shard): Promise<ShardStatus> => {
      const base = {
        id: shard.id,
        region: shard.region,
        state: shard.state,
        url: printableUrl(shard.databaseUrl),
        mappedKeys: mappedKeys.get(shard.id) ?? 0,
      };
      try {
        const { applied, pending } = await migrationStatus(shard.databaseUrl, options.migrationsDir);
        return { ...base, reachable: true, migrationsApplied: applied.length, pendingMigrations: pending };
      } catch (error) {
        return { ...base, reachable: false, problem: connectionErrorMessage(error) };
      }
    }),
  );
  return { mapVersion: map.version, shards };
}

export interface RemovedShard {
  id: string;
  mapVersion: number;
}

/**
 * Removes a shard that owns no key: JOINING (not on the ring), no key mapped to it or moving to or
 * from it, and no customer in its database. Anything else is refused (ShardInputError), naming
 * what it still owns, with the map unchanged: its customers would be lost to routing. Taking an
 * ACTIVE shard out needs its keys moved off first (draining, docs/sharding.md).
 */
export async function removeShard(catalogue: Database, shardId: string): Promise<RemovedShard> {
  const map = await readShardMap(catalogue);
  const shard = map.shards.find((s) => s.id === shardId);
  if (!shard)
    throw new ShardInputError(
      `no shard "${shardId}" in the shard map (known: ${map.shards.map((s) => s.id).join(', ') || 'none'})`,
    );
  const owned: string[] = [];
  if (shard.state === 'ACTIVE') owned.push('it is ACTIVE (its arcs of the ring)');
  const mapped = [...map.mappings.values()].filter((id) => id === shardId).length;
  if (mapped > 0) owned.push(`${mapped} keys mapped to it`);
  const moves = await catalogue.shardMove.count({
    where: { OR: [{ sourceShardId: shardId }, { targetShardId: shardId }] },
  });
  if (moves > 0) owned.push(`${moves} keys moving to or from it`);
  // The database is asked only when the map alone does not already refuse.
  const customers = owned.length > 0 ? 0 : await customersOn(shard.databaseUrl);
  if (customers > 0) owned.push(`${customers} customers in its database`);
  if (owned.length > 0)
    throw new ShardInputError(`shard ${shardId} still owns keys: ${owned.join(', ')}; nothing removed`);
  return { id: shardId, mapVersion: await deregisterShard(catalogue, shardId) };
}

async function customersOn(databaseUrl: string): Promise<number> {
  const unreachable = await whyPostgresIsNotAnswering(databaseUrl);
  if (unreachable)
    throw new ShardInputError(
      `cannot reach PostgreSQL at ${printableUrl(databaseUrl)} to check that the shard holds no customers: ${unreachable}`,
    );
  const db = createDatabase({ database: { url: databaseUrl, poolSize: 1 } });
  try {
    return (await customerIdsIn(db)).length;
  } finally {
    await db.$disconnect();
  }
}
