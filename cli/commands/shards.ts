import { Command } from 'commander';
import { loadConfigOrExit } from '../../platform/config';
import { createDatabase, type Database } from '../../platform/database';
import { printableUrl } from '../../platform/postgres-admin';
import {
  addShard,
  removeShard,
  shardMapStatus,
  ShardInputError,
  type ShardStatus,
} from '../../platform/shards/shard-admin';
import { DEFAULT_SHARD_ID, readShardMap } from '../../platform/shards/shard-map';
import { UsageError } from '../history-sources';
import { printJson } from '../output';
import { rebalanceCommand } from './shards-rebalance';

/**
 * `shopflow shards`: the PostgreSQL servers that hold customers' order data (docs/sharding.md).
 * `add` registers and migrates one, `list` shows the map, `status` checks every shard, `remove`
 * takes out one that owns no key, `rebalance` (shards-rebalance.ts) moves customers where the ring
 * puts them. URLs are shown with their password masked.
 */
export function shardsCommand(): Command {
  const command = new Command('shards').description(
    'List, add, check, remove and rebalance the PostgreSQL shards that hold customers’ order data (the shard map).',
  );

  command
    .command('add')
    .description(
      'Add a shard: check that its server answers, create and migrate its database, and register it JOINING ' +
        '(it owns no keys until activated) with a new map version. Refused with exit code 2, changing nothing, ' +
        'when the server does not answer, the id or database is taken, or an argument is malformed.',
    )
    .requiredOption('--id <id>', 'the shard id: lower-case letters and digits joined by dashes (e.g. shard-3)')
    .requiredOption('--url <url>', 'its database: postgresql://user:password@host:5432/database')
    .requiredOption('--region <region>', 'where the server runs (e.g. eu-west-1)')
    .option('--json', 'print as JSON', false)
    .action(async (options: { id: string; url: string; region: string; json: boolean }) => {
      const added = await withCatalogue((db) => addShard(db, options));
      if (options.json) {
        printJson(added);
        return;
      }
      const database = added.databaseCreated ? 'database created, ' : '';
      process.stdout.write(
        `added shard ${added.id} (${added.region}, ${added.state}) at ${added.url}: ` +
          `${database}${added.migrationsApplied} migrations applied; shard map version ${added.mapVersion}\n`,
      );
    });

  command
    .command('list')
    .description('List the shards: id, region, state (JOINING or ACTIVE) and database URL, password masked.')
    .option('--json', 'print as JSON', false)
    .action(async (options: { json: boolean }) => {
      const { version, shards } = await withCatalogue(readShardMap);
      const rows = shards.map((s) => ({
        id: s.id,
        region: s.region,
        state: s.state,
        url: printableUrl(s.databaseUrl),
      }));
      if (options.json) {
        printJson({ mapVersion: version, shards: rows });
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`no shards: every customer is on the catalogue database (shard "${DEFAULT_SHARD_ID}")\n`);
        return;
      }
      process.stdout.write(
        table(
          ['ID', 'REGION', 'STATE', 'URL'],
          rows.map((r) => [r.id, r.region, r.state, r.url]),
        ),
      );
    });

  command
    .command('status')
    .description(
      'Check every shard: does its server answer, are all migrations applied, how many keys are mapped to it ' +
        'explicitly; and the map version. Exit code 1 when a shard does not answer or lacks migrations.',
    )
    .option('--json', 'print as JSON', false)
    .action(async (options: { json: boolean }) => {
      const status = await withCatalogue((db) => shardMapStatus(db));
      if (options.json) printJson(status);
      else {
        process.stdout.write(`shard map version ${status.mapVersion}\n`);
        if (status.shards.length === 0)
          process.stdout.write(
            `no shards: every customer is on the catalogue database (shard "${DEFAULT_SHARD_ID}")\n`,
          );
        else
          process.stdout.write(
            table(
              ['ID', 'REGION', 'STATE', 'REACHABLE', 'MIGRATIONS', 'MAPPED KEYS'],
              status.shards.map((s) => [s.id, s.region, s.state, reachable(s), migrations(s), String(s.mappedKeys)]),
            ),
          );
      }
      const troubled = status.shards.filter((s) => !s.reachable || (s.pendingMigrations?.length ?? 0) > 0);
      if (troubled.length > 0) {
        process.stderr.write(`shopflow: shards needing attention: ${troubled.map(trouble).join('; ')}\n`);
        process.exitCode = 1;
      }
    });

  command
    .command('remove <id>')
    .description(
      'Remove a shard that owns no key (JOINING, nothing mapped to or moving through it, no customer in its database). ' +
        'Refused with exit code 2, changing nothing, while it owns keys.',
    )
    .action(async (id: string) => {
      const removed = await withCatalogue((db) => removeShard(db, id));
      process.stdout.write(`removed shard ${removed.id}; shard map version ${removed.mapVersion}\n`);
    });

  command.addCommand(rebalanceCommand());

  return command;
}

function reachable(shard: ShardStatus): string {
  return shard.reachable ? 'yes' : 'no';
}

function migrations(shard: ShardStatus): string {
  if (!shard.reachable) return '?';
  const total = (shard.migrationsApplied ?? 0) + (shard.pendingMigrations?.length ?? 0);
  return `${shard.migrationsApplied}/${total} applied`;
}

function trouble(shard: ShardStatus): string {
  if (!shard.reachable) return `${shard.id} does not answer (${shard.problem})`;
  return `${shard.id} lacks ${shard.pendingMigrations?.length} migrations (run npm run db:migrate)`;
}

/** Columns padded to their widest cell. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map(
      (cells) =>
        cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd() + '\n',
    )
    .join('');
}

/** Refusals are usage errors: one line, exit code 2. */
async function withCatalogue<T>(use: (db: Database) => Promise<T>): Promise<T> {
  const db = createDatabase(loadConfigOrExit());
  try {
    return await use(db);
  } catch (error) {
    throw error instanceof ShardInputError ? new UsageError(error.message) : error;
  } finally {
    await db.$disconnect();
  }
}
