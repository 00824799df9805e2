import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from './logger';

/**
 * Applies the hand-written SQL migrations under prisma/migrations and records them exactly as
 * `prisma migrate deploy` would (table `_prisma_migrations`, SHA-256 checksums), so that
 * `prisma migrate status` agrees on machines that have Prisma's native engine.
 * We need our own runner because that engine cannot be downloaded here (see docs/development.md, "Database").
 */

/** prisma/migrations beside the sources: one folder up from platform/, two from the build's dist/platform/. */
export const defaultMigrationsDir = path.resolve(
  __dirname,
  path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..',
  'prisma',
  'migrations',
);

/** The advisory lock key Prisma's migrate uses, so our runner and Prisma's never run at once. */
const PRISMA_MIGRATE_LOCK = 72707369;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** Prisma's checksum: the SHA-256 of the script's bytes, as lowercase hex. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

export async function readMigrations(dir = defaultMigrationsDir): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: migrationChecksum(sql) };
    }),
  );
}

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

export interface MigrateOptions {
  migrationsDir?: string;
  logger?: Logger;
  /** Called after each migration is applied; the CLI drives its progress bar with it. */
  onApplied?: (name: string, index: number, total: number) => void;
}

/** A server that does not answer (a shard's host down or firewalled) fails its migration instead of hanging it. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface MigrationStatus {
  /** Migrations of the folder the database has recorded as finished. */
  applied: string[];
  /** Migrations of the folder the database has not applied yet. */
  pending: string[];
}

/** What `migrate` would leave to do, read without the lock and without changing anything. */
export async function migrationStatus(databaseUrl: string, migrationsDir?: string): Promise<MigrationStatus> {
  const migrations = await readMigrations(migrationsDir);
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    const { rows } = await client.query<{ exists: boolean }>(
      `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS exists`,
    );
    const finished = new Set<string>();
    if (rows[0]?.exists) {
      const recorded = await client.query<{ migration_name: string }>(
        `SELECT migration_name FROM "_prisma_migrations" WHERE rolled_back_at IS NULL AND finished_at IS NOT NULL`,
      );
      for (const row of recorded.rows) finished.add(row.migration_name);
    }
    return {
      applied: migrations.filter((m) => finished.has(m.name)).map((m) => m.name),
      pending: migrations.filter((m) => !finished.has(m.name)).map((m) => m.name),
    };
  } finally {
    await client.end();
  }
}

export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = await readMigrations(options.migrationsDir);
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
    await client.query(createMigrationsTable);
    const { rows } = await client.query<AppliedRow>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const recorded = new Map(rows.map((r) => [r.migration_name, r]));
    refuseModifiedOrFailed(migrations, recorded);
    warnAboutUnknown(migrations, recorded, options.logger);

    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    const pending = migrations.filter((m) => !recorded.has(m.name));
    result.alreadyApplied = migrations.filter((m) => recorded.has(m.name)).map((m) => m.name);
    for (const [index, migration] of pending.entries()) {
      await applyOne(client, migration);
      options.logger?.info({ migration: migration.name }, 'migration applied');
      result.applied.push(migration.name);
      options.onApplied?.(migration.name, index + 1, pending.length);
    }
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK]).catch(() => undefined);
    await client.end();
  }
}

function refuseModifiedOrFailed(migrations: MigrationFile[], recorded: Map<string, AppliedRow>): void {
  for (const migration of migrations) {
    const row = recorded.get(migration.name);
    if (!row) continue;
    if (row.finished_at === null) {
      throw new MigrationError(
        `migration ${migration.name} started but never finished; inspect the database, then mark it rolled back ` +
          `(UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${migration.name}')`,
      );
    }
    if (row.checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.name} was modified after it was applied ` +
          `(recorded checksum ${row.checksum.slice(0, 12)}…, file now ${migration.checksum.slice(0, 12)}…); ` +
          `restore the file and put the change in a new migration`,
      );
    }
  }
}

function warnAboutUnknown(migrations: MigrationFile[], recorded: Map<string, AppliedRow>, logger?: Logger): void {
  const known = new Set(migrations.map((m) => m.name));
  for (const name of recorded.keys()) {
    if (!known.has(name))
      logger?.warn({ migration: name }, 'database has a migration that is not in prisma/migrations');
  }
}

/**
 * Each migration runs in one transaction with its bookkeeping row: it is applied entirely or
 * not at all. A failure is recorded as a rolled-back attempt (with the error in `logs`), so the
 * next run retries the fixed file.
 */
async function applyOne(client: Client, migration: MigrationFile): Promise<void> {
  const id = randomUUID();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`,
      [id, migration.checksum, migration.name],
    );
    await client.query(migration.sql);
    // clock_timestamp(), not now(): now() is the transaction's start, which would record every
    // migration as finishing the instant it started.
    await client.query(
      `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    const message = error instanceof Error ? error.message : String(error);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, rolled_back_at, started_at)
       VALUES ($1, $2, $3, $4, now(), now())`,
      [id, migration.checksum, migration.name, message],
    );
    throw new MigrationError(`migration ${migration.name} failed and was rolled back: ${message}`);
  }
}
