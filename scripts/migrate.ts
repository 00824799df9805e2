import { Command } from 'commander';
import { loadConfigOrExit } from '../platform/config';
import { createDatabase } from '../platform/database';
import { createLogger } from '../platform/logger';
import { MigrationError, migrate } from '../platform/migrations';
import { ensureDatabase } from '../platform/postgres-admin';
import { describeFailedShards, migrateShards } from '../platform/shards/shard-migrations';

const program = new Command('db:migrate')
  .description(
    'Create the database named by DATABASE_URL if missing, then apply pending migrations from prisma/migrations;\n' +
      'then the same on every shard registered in its shard map (`shopflow shards list`).\n' +
      'Applying twice is a no-op; a migration changed after it was applied is refused.',
  )
  .option('--migrations-dir <dir>', 'folder of <timestamp>_<name>/migration.sql migrations')
  .action(async (options: { migrationsDir?: string }) => {
    const config = loadConfigOrExit();
    const logger = createLogger(config, 'shopflow-migrate');
    try {
      if (await ensureDatabase(config.database.url)) logger.info('database created');
      const result = await migrate(config.database.url, { logger, migrationsDir: options.migrationsDir });
      logger.info(
        { applied: result.applied.length, alreadyApplied: result.alreadyApplied.length },
        result.applied.length ? 'migrations applied' : 'database already up to date',
      );
      const catalogue = createDatabase({ database: { url: config.database.url, poolSize: 1 } });
      try {
        const outcomes = await migrateShards(catalogue, {
          catalogueUrl: config.database.url,
          logger,
          ...(options.migrationsDir ? { migrationsDir: options.migrationsDir } : {}),
        });
        const failed = describeFailedShards(outcomes);
        if (failed) throw new MigrationError(failed);
        if (outcomes.length > 0) logger.info({ shards: outcomes.length }, 'every shard migrated');
      } finally {
        await catalogue.$disconnect();
      }
    } catch (error) {
      const message = error instanceof MigrationError || error instanceof Error ? error.message : String(error);
      process.stderr.write(`shopflow db:migrate: ${message}\n`);
      process.exitCode = 1;
    }
  });

void program.parseAsync();
