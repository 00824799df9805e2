import type { Database } from '../database';
import type { Logger } from '../logger';
import { migrate, type MigrateResult } from '../migrations';
import { connectionErrorMessage, ensureDatabase, printableUrl } from '../postgres-admin';
import { readShardMap } from './shard-map';

/**
 * Every shard's database gets the same migrations as the catalogue's: a shard holds the order side
 * of its customers in shopflow's one schema, and the rebalancer copies rows between shards table
 * for table. `npm run db:migrate` runs this after the catalogue, which holds the list of shards.
 */

/** `url` is printable (no password); `catalogue`: the shard is the catalogue database, migrated before. */
export type ShardMigrationOutcome = { shardId: string; url: string } & (
  | { status: 'migrated'; result: MigrateResult; databaseCreated: boolean }
  | { status: 'failed'; error: string }
  | { status: 'catalogue' }
);

export interface MigrateShardsOptions {
  /** The catalogue database's URL: a shard registered with it is not migrated twice. */
  catalogueUrl: string;
  migrationsDir?: string;
  logger?: Logger;
}

/**
 * Migrates every registered shard, one after another, and carries on past a shard that fails so
 * that one server down does not hold the others back; the outcomes say which failed and why.
 */
export async function migrateShards(
  catalogue: Database,
  options: MigrateShardsOptions,
): Promise<ShardMigrationOutcome[]> {
  const { shards } = await readShardMap(catalogue);
  const outcomes: ShardMigrationOutcome[] = [];
  for (const shard of shards) {
    const url = printableUrl(shard.databaseUrl);
    const logger = options.logger?.child({ shard: shard.id });
    if (shard.databaseUrl === options.catalogueUrl) {
      logger?.info({ url }, 'shard is the catalogue database, migrated above');
      outcomes.push({ shardId: shard.id, url, status: 'catalogue' });
      continue;
    }
    try {
      const databaseCreated = await ensureDatabase(shard.databaseUrl);
      if (databaseCreated) logger?.info({ url }, 'shard database created');
      const result = await migrate(shard.databaseUrl, {
        ...(options.migrationsDir ? { migrationsDir: options.migrationsDir } : {}),
        ...(logger ? { logger } : {}),
      });
      logger?.info(
        { url, applied: result.applied.length, alreadyApplied: result.alreadyApplied.length },
        result.applied.length ? 'shard migrated' : 'shard already up to date',
      );
      outcomes.push({ shardId: shard.id, url, status: 'migrated', result, databaseCreated });
    } catch (error) {
      const message = connectionErrorMessage(error);
      logger?.error({ url, error: message }, 'shard migration failed');
      outcomes.push({ shardId: shard.id, url, status: 'failed', error: message });
    }
  }
  return outcomes;
}

/** One line naming every shard that failed and why; undefined when none did. */
export function describeFailedShards(outcomes: readonly ShardMigrationOutcome[]): string | undefined {
  const failed = outcomes.flatMap((o) =>
    o.status === 'failed' ? [`shard ${o.shardId} (${o.url}) failed: ${o.error}`] : [],
  );
  if (failed.length === 0) return undefined;
  const prefix = failed.length === 1 ? '' : `${failed.length} of ${outcomes.length} shards failed to migrate: `;
  return prefix + failed.join('; ').replace(/\s*\n\s*/g, ' ');
}
