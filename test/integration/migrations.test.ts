import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createDatabase } from '../../platform/database';
import { defaultMigrationsDir, migrate, MigrationError, readMigrations } from '../../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../../platform/postgres-admin';
import { registerShard } from '../../platform/shards/shard-map';
import { runMigrateCli } from '../support/migrate-cli';
import { freePort } from '../support/processes';
import { testServices } from '../support/services';

/**
 * The migration runner against the real PostgreSQL: each test gets its own fresh database
 * (never the shared test database), and temp copies of prisma/migrations when it needs to
 * change, break or add a migration.
 */

const createdDatabases: string[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  for (const url of createdDatabases.splice(0)) await dropDatabase(url);
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A database name no other test or developer uses; not created yet. */
function freshDatabaseUrl(): string {
  const url = databaseUrlFor(testServices.postgresUrl, `shopflow_mig_${randomUUID().replace(/-/g, '').slice(0, 12)}`);
  createdDatabases.push(url);
  return url;
}

async function freshDatabase(): Promise<string> {
  const url = freshDatabaseUrl();
  await ensureDatabase(url);
  return url;
}

async function query<R extends object>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const [row] = await query<{ exists: boolean }>(url, 'SELECT to_regclass($1) IS NOT NULL AS exists', [table]);
  return row?.exists === true;
}

/** A temp copy of prisma/migrations, to modify without touching the real files. */
async function copyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'shopflow-migrations-'));
  tempDirs.push(dir);
  await cp(defaultMigrationsDir, dir, { recursive: true });
  return dir;
}

async function addMigration(dir: string, name: string, sql: string): Promise<void> {
  await mkdir(path.join(dir, name), { recursive: true });
  await writeFile(path.join(dir, name, 'migration.sql'), sql);
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

function migrationRows(url: string): Promise<MigrationRow[]> {
  return query<MigrationRow>(url, 'SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name');
}

const realMigrationNames = (): Promise<string[]> => readMigrations().then((all) => all.map((m) => m.name));

/**
 * Prisma's own definition of the table on PostgreSQL (prisma-engines, schema connector's postgres
 * flavour), written here independently of the runner so that a change there cannot go unnoticed.
 */
const prismaMigrationsTable = `
CREATE TABLE prisma_reference._prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

/** Columns of a `_prisma_migrations` table as information_schema describes them, in order. */
async function describeMigrationsTable(url: string, schema: string): Promise<object[]> {
  return query(
    url,
    `SELECT column_name, data_type, character_maximum_length, datetime_precision, is_nullable, column_default
     FROM information_schema.columns WHERE table_schema = $1 AND table_name = '_prisma_migrations'
     ORDER BY ordinal_position`,
    [schema],
  );
}

async function primaryKeyColumns(url: string, schema: string): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    url,
    `SELECT k.column_name FROM information_schema.table_constraints c
     JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
     WHERE c.table_schema = $1 AND c.table_name = '_prisma_migrations' AND c.constraint_type = 'PRIMARY KEY'
     ORDER BY k.ordinal_position`,
    [schema],
  );
  return rows.map((r) => r.column_name);
}

describe('migrate() on a fresh database', () => {
  it('applies every migration and records it exactly as prisma migrate deploy would', async () => {
    const url = await freshDatabase();
    const names = await realMigrationNames();

    const result = await migrate(url);

    expect(result).toEqual({ applied: names, alreadyApplied: [] });
    await query(url, 'CREATE SCHEMA prisma_reference');
    await query(url, prismaMigrationsTable);
    const reference = await describeMigrationsTable(url, 'prisma_reference');
    expect(reference).toHaveLength(8);
    expect(await describeMigrationsTable(url, 'public')).toEqual(reference);
    expect(await primaryKeyColumns(url, 'public')).toEqual(['id']);

    const rows = await migrationRows(url);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      const bytes = readFileSync(path.join(defaultMigrationsDir, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(await tableExists(url, 'products')).toBe(true);
  });

  it('is a no-op when run again', async () => {
    const url = await freshDatabase();
    await migrate(url);
    const before = await migrationRows(url);

    const result = await migrate(url);

    expect(result).toEqual({ applied: [], alreadyApplied: await realMigrationNames() });
    const after = await migrationRows(url);
    expect(after).toHaveLength(before.length);
    expect(after.map((r) => [r.id, r.started_at.toISOString(), r.finished_at?.toISOString()])).toEqual(
      before.map((r) => [r.id, r.started_at.toISOString(), r.finished_at?.toISOString()]),
    );
  });
});

describe('migrate() refuses or undoes what it must', () => {
  it('refuses a migration changed after it was applied, naming it, and applies nothing', async () => {
    const url = await freshDatabase();
    const dir = await copyOfMigrations();
    await migrate(url, { migrationsDir: dir });
    const [first] = await realMigrationNames();
    await appendFile(path.join(dir, `${first}`, 'migration.sql'), '\nCREATE TABLE "sneaked_in" ("id" INTEGER);\n');
    await addMigration(dir, '20990101000000_next', 'CREATE TABLE "next_table" ("id" INTEGER);');
    const rowsBefore = await migrationRows(url);

    const run = migrate(url, { migrationsDir: dir });

    await expect(run).rejects.toThrow(MigrationError);
    await expect(run).rejects.toThrow(new RegExp(`migration ${first} was modified after it was applied`));
    expect(await tableExists(url, 'next_table')).toBe(false);
    expect(await tableExists(url, 'sneaked_in')).toBe(false);
    expect(await migrationRows(url)).toEqual(rowsBefore);
  });

  it('rolls a failing migration back entirely, records it, and applies the fixed file next time', async () => {
    const url = await freshDatabase();
    const dir = await copyOfMigrations();
    const broken = '20990101000000_half_done';
    await addMigration(dir, broken, 'CREATE TABLE "half_done" ("id" INTEGER);\nSELEC nonsense;\n');

    const run = migrate(url, { migrationsDir: dir });

    await expect(run).rejects.toThrow(
      `migration ${broken} failed and was rolled back: syntax error at or near "SELEC"`,
    );
    expect(await tableExists(url, 'half_done')).toBe(false);
    expect(await tableExists(url, 'products')).toBe(true); // the good migration before it stays applied
    const [failed, ...others] = (await migrationRows(url)).filter((r) => r.migration_name === broken);
    expect(others).toEqual([]);
    expect(failed).toMatchObject({ finished_at: null, applied_steps_count: 0 });
    expect(failed?.rolled_back_at).toBeInstanceOf(Date);
    expect(failed?.logs).toContain('syntax error at or near "SELEC"');

    await addMigration(dir, broken, 'CREATE TABLE "half_done" ("id" INTEGER);\n');
    expect(await migrate(url, { migrationsDir: dir })).toEqual({
      applied: [broken],
      alreadyApplied: await realMigrationNames(),
    });
    expect(await tableExists(url, 'half_done')).toBe(true);
    const attempts = (await migrationRows(url)).filter((r) => r.migration_name === broken);
    expect(attempts.map((r) => [r.rolled_back_at === null, r.finished_at === null])).toEqual([
      [false, true],
      [true, false],
    ]);
  });

  it('applies each migration exactly once when several runners start at once', async () => {
    const url = await freshDatabase();
    const dir = await copyOfMigrations();
    // Slow and not idempotent: a second application would fail on CREATE TABLE.
    await addMigration(dir, '20990101000000_slow', 'SELECT pg_sleep(0.3);\nCREATE TABLE "only_once" ("id" INTEGER);\n');
    await addMigration(dir, '20990101000001_after', 'CREATE TABLE "also_once" ("id" INTEGER);\n');
    const names = (await readMigrations(dir)).map((m) => m.name);

    const results = await Promise.all([1, 2, 3, 4].map(() => migrate(url, { migrationsDir: dir })));

    expect(results.flatMap((r) => r.applied).sort()).toEqual(names);
    for (const result of results) expect([...result.applied, ...result.alreadyApplied].sort()).toEqual(names);
    const rows = await migrationRows(url);
    expect(rows.map((r) => r.migration_name).sort()).toEqual(names);
    expect(rows.every((r) => r.finished_at !== null && r.rolled_back_at === null)).toBe(true);
    // finished_at is when the migration finished, not when its transaction began.
    const slow = rows.find((r) => r.migration_name === '20990101000000_slow');
    expect((slow?.finished_at?.getTime() ?? 0) - (slow?.started_at.getTime() ?? 0)).toBeGreaterThanOrEqual(250);
  });
});

describe('npm run db:migrate', () => {
  it('creates the database, applies the migrations, says what it applied, and exits 0', async () => {
    const url = freshDatabaseUrl();
    const names = await realMigrationNames();

    const first = runMigrateCli(url);

    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.logs.map((l) => l.msg)).toContain('database created');
    expect(first.logs.filter((l) => l.msg === 'migration applied').map((l) => l.migration)).toEqual(names);
    expect(first.logs).toContainEqual(expect.objectContaining({ msg: 'migrations applied', applied: names.length }));

    const again = runMigrateCli(url);
    expect(again.status).toBe(0);
    expect(again.logs).toContainEqual(expect.objectContaining({ msg: 'database already up to date', applied: 0 }));
  });

  it('exits non-zero with one clear line when a migration was modified', async () => {
    const url = await freshDatabase();
    const dir = await copyOfMigrations();
    await migrate(url, { migrationsDir: dir });
    const [first] = await realMigrationNames();
    await appendFile(path.join(dir, `${first}`, 'migration.sql'), '\n-- an afterthought\n');

    const result = runMigrateCli(url, ['--migrations-dir', dir]);

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^shopflow db:migrate: migration ${first} was modified after it was applied [^\\n]*\\n$`),
    );
  });

  it('then migrates every registered shard, logging each; a shard that fails is named in one line, exit 1', async () => {
    const catalogueUrl = await freshDatabase();
    await migrate(catalogueUrl);
    const shardUrl = freshDatabaseUrl(); // not created yet: db:migrate creates it
    const downUrl = `postgresql://postgres:secret@127.0.0.1:${await freePort()}/shopflow`;
    const catalogue = createDatabase({ database: { url: catalogueUrl, poolSize: 1 } });
    try {
      await registerShard(catalogue, { id: 'shard-up', databaseUrl: shardUrl, region: 'local' });
      await registerShard(catalogue, { id: 'shard-down', databaseUrl: downUrl, region: 'local' });
    } finally {
      await catalogue.$disconnect();
    }
    const names = await realMigrationNames();

    const result = runMigrateCli(catalogueUrl);

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^shopflow db:migrate: shard shard-down \(postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/shopflow\) failed: connect ECONNREFUSED [^\n]*\n$/,
    );
    expect(result.stdout).not.toContain('secret');
    // The healthy shard is migrated all the same, each of its migrations logged with the shard's id.
    expect(
      result.logs.filter((l) => l.shard === 'shard-up' && l.msg === 'migration applied').map((l) => l.migration),
    ).toEqual(names);
    expect(result.logs).toContainEqual(
      expect.objectContaining({ shard: 'shard-up', msg: 'shard migrated', applied: names.length }),
    );
    expect(result.logs).toContainEqual(expect.objectContaining({ shard: 'shard-down', msg: 'shard migration failed' }));
    expect((await migrationRows(shardUrl)).map((r) => r.migration_name).sort()).toEqual(names);
  });
});
