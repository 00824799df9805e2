import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import { defaultMigrationsDir, migrationStatus, readMigrations } from '../../platform/migrations';
import { addShard } from '../../platform/shards/shard-admin';
import { assignPartitionKey, readShardMap, registerShard } from '../../platform/shards/shard-map';
import { shopflowWith } from '../support/cli';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';
import { freePort } from '../support/processes';
import { createShardWorld, type ShardWorld } from '../support/shards';

/**
 * `shopflow shards` as an operator uses it, against a catalogue database and a shard that is a
 * PostgreSQL server of its own: add one (reachable, migrated, registered JOINING, map version
 * bumped), list the map with passwords masked, check every shard's status; and every refusal is
 * one line on stderr, exit code 2, with the map and the servers as they were.
 */

let world: ShardWorld;
let server: PostgresServer;

beforeAll(async () => {
  [world, server] = await Promise.all([createShardWorld('cli'), startPostgresServer()]);
});

afterAll(async () => {
  await world?.end();
  await server?.stop();
});

const shards = (...args: string[]) => shopflowWith({ DATABASE_URL: world.catalogueUrl }, 'shards', ...args);

/** A URL with a password (the test server trusts every connection, so any password works). */
const shardUrl = (database: string) => `postgresql://postgres:s3cret@127.0.0.1:${server.port}/${database}`;
const masked = (database: string) => `postgresql://postgres:***@127.0.0.1:${server.port}/${database}`;

async function databasesOnServer(): Promise<string[]> {
  const client = new Client({ connectionString: server.url() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY datname');
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

describe('shopflow shards', () => {
  it('with no shard, every customer is on the catalogue database', () => {
    const list = shards('list');
    expect(list.status).toBe(0);
    expect(list.stdout).toBe('no shards: every customer is on the catalogue database (shard "default")\n');
  });

  it('add checks the server, migrates a new database there and registers it JOINING with a new map version', async () => {
    const before = await readShardMap(world.catalogue);

    const add = shards('add', '--id', 'shard-1', '--url', shardUrl('shopflow'), '--region', 'eu-west-1');

    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    const migrations = await readMigrations();
    expect(add.stdout).toBe(
      `added shard shard-1 (eu-west-1, JOINING) at ${masked('shopflow')}: database created, ` +
        `${migrations.length} migrations applied; shard map version ${before.version + 1}\n`,
    );
    const after = await readShardMap(world.catalogue);
    expect(after.version).toBe(before.version + 1);
    expect(after.shards).toEqual([
      { id: 'shard-1', databaseUrl: shardUrl('shopflow'), region: 'eu-west-1', state: 'JOINING' },
    ]);
    expect(await migrationStatus(shardUrl('shopflow'))).toEqual({
      applied: migrations.map((m) => m.name),
      pending: [],
    });
    // JOINING: registering a shard moves nobody; it owns keys only once activated.
    const route = await world.router().shardFor(customerPartitionKey('a11ce000-0000-4000-a000-000000000001'));
    expect(route).toMatchObject({ shardId: 'default', via: 'default' });
  });

  it('list shows id, region, state and the URL with its password masked', () => {
    const list = shards('list');
    expect(list.status).toBe(0);
    expect(list.stdout).not.toContain('s3cret');
    expect(list.stdout.split('\n')).toEqual([
      expect.stringMatching(/^ID\s+REGION\s+STATE\s+URL$/),
      expect.stringMatching(new RegExp(`^shard-1\\s+eu-west-1\\s+JOINING\\s+${escape(masked('shopflow'))}$`)),
      '',
    ]);
    expect(JSON.parse(shards('list', '--json').stdout)).toMatchObject({
      shards: [{ id: 'shard-1', region: 'eu-west-1', state: 'JOINING', url: masked('shopflow') }],
    });
  });

  it('status says per shard whether it answers, its migrations and its explicitly mapped keys, and the map version', async () => {
    await assignPartitionKey(world.catalogue, customerPartitionKey('b0b00000-0000-4000-a000-000000000002'), 'shard-1');
    const { version } = await readShardMap(world.catalogue);
    const total = (await readMigrations()).length;

    const status = shards('status');

    expect(status.stderr).toBe('');
    expect(status.status).toBe(0);
    expect(status.stdout.split('\n')).toEqual([
      `shard map version ${version}`,
      expect.stringMatching(/^ID\s+REGION\s+STATE\s+REACHABLE\s+MIGRATIONS\s+MAPPED KEYS$/),
      expect.stringMatching(new RegExp(`^shard-1\\s+eu-west-1\\s+JOINING\\s+yes\\s+${total}/${total} applied\\s+1$`)),
      '',
    ]);
    expect(JSON.parse(shards('status', '--json').stdout)).toEqual({
      mapVersion: version,
      shards: [
        {
          id: 'shard-1',
          region: 'eu-west-1',
          state: 'JOINING',
          url: masked('shopflow'),
          reachable: true,
          migrationsApplied: total,
          pendingMigrations: [],
          mappedKeys: 1,
        },
      ],
    });
  });

  describe('refuses bad input with one line on stderr and exit code 2, changing nothing', () => {
    it.each([
      [
        'an unreachable server',
        async () => ['--id', 'shard-2', '--url', `postgresql://postgres:s3cret@127.0.0.1:${await freePort()}/shopflow`],
        /^shopflow: cannot reach PostgreSQL at postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/shopflow: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/,
      ],
      [
        'a shard id that already exists',
        () => ['--id', 'shard-1', '--url', shardUrl('shopflow_other')],
        /^shopflow: shard "shard-1" already exists \(region eu-west-1, JOINING\)\n$/,
      ],
      [
        'a database another shard already uses',
        () => ['--id', 'shard-2', '--url', shardUrl('shopflow')],
        /^shopflow: shard "shard-1" already uses the database postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/shopflow\n$/,
      ],
      [
        'a malformed URL',
        () => ['--id', 'shard-2', '--url', 'mysql://root:s3cret@db/shopflow'],
        /^shopflow: --url must be a postgres:\/\/ or postgresql:\/\/ URL with a host and a database name, e\.g\. [^\n]+\n$/,
      ],
      [
        'a URL without a database name',
        () => ['--id', 'shard-2', '--url', shardUrl('')],
        /^shopflow: --url must be a postgres:\/\/ or postgresql:\/\/ URL [^\n]+\n$/,
      ],
      [
        'a malformed id',
        () => ['--id', 'Shard_2', '--url', shardUrl('shopflow_2')],
        /^shopflow: shard id "Shard_2" must be lower-case letters and digits joined by dashes, at most 50 characters\n$/,
      ],
      [
        'the default shard’s id',
        () => ['--id', 'default', '--url', shardUrl('shopflow_2')],
        /^shopflow: shard id "default" is the catalogue database's own; choose another\n$/,
      ],
    ])('%s', async (_what, args, line) => {
      const mapBefore = await readShardMap(world.catalogue);
      const databasesBefore = await databasesOnServer();

      const add = shards('add', ...(await args()), '--region', 'eu-west-1');

      expect(add.stderr).toMatch(line);
      expect(add.stderr).not.toContain('s3cret');
      expect(add.stdout).toBe('');
      expect(add.status).toBe(2);
      expect(await readShardMap(world.catalogue)).toEqual(mapBefore);
      expect(await databasesOnServer()).toEqual(databasesBefore);
    });

    it('a malformed region', async () => {
      const mapBefore = await readShardMap(world.catalogue);

      const add = shards('add', '--id', 'shard-2', '--url', shardUrl('shopflow_2'), '--region', 'EU West');

      expect(add.stderr).toBe(
        'shopflow: region "EU West" must be lower-case letters and digits joined by dashes (e.g. eu-west-1), at most 50 characters\n',
      );
      expect(add.status).toBe(2);
      expect(await readShardMap(world.catalogue)).toEqual(mapBefore);
    });
  });

  it('status names a shard that does not answer on stderr and exits 1', async () => {
    const downUrl = `postgresql://postgres@127.0.0.1:${await freePort()}/shopflow`;
    await registerShard(world.catalogue, { id: 'shard-down', databaseUrl: downUrl, region: 'eu-west-1' });

    const status = shards('status');

    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/^shard-down\s+eu-west-1\s+JOINING\s+no\s+\?\s+0$/m);
    expect(status.stderr).toMatch(
      /^shopflow: shards needing attention: shard-down does not answer \(connect ECONNREFUSED [^)]+\)\n$/,
    );
  });
});

it('add is all or nothing: a migration failing on the new shard drops the database it created and registers nothing', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'shopflow-migrations-'));
  try {
    await cp(defaultMigrationsDir, dir, { recursive: true });
    await cp(path.join(dir, (await readMigrations())[0]!.name), path.join(dir, '20990101000000_broken'), {
      recursive: true,
    });
    await writeFile(path.join(dir, '20990101000000_broken', 'migration.sql'), 'SELECT no_such_function();\n');
    const mapBefore = await readShardMap(world.catalogue);

    const adding = addShard(
      world.catalogue,
      { id: 'shard-3', url: shardUrl('shopflow_3'), region: 'eu-west-1' },
      { migrationsDir: dir },
    );

    await expect(adding).rejects.toThrow(/migration 20990101000000_broken failed and was rolled back/);
    expect(await readShardMap(world.catalogue)).toEqual(mapBefore);
    expect(await databasesOnServer()).not.toContain('shopflow_3');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
