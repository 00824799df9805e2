import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import type { Database } from '../../platform/database';
import { addShard } from '../../platform/shards/shard-admin';
import { setShardState } from '../../platform/shards/shard-map';
import { startPostgresServer, type PostgresServer } from '../../test/support/postgres-server';
import { childrenOf } from './proc-cpu';

/**
 * Shards for a benchmark as an operator makes them: a PostgreSQL server of its own per shard
 * (test/support/postgres-server.ts) run as the catalogue's is (catalogueServerProfile: its version
 * where the machine has its binaries, else embedded PostgreSQL's; its settings that change what a
 * transaction costs, durability among them: a shard that skipped fsync would commit faster), its
 * `shopflow` database added to the map by the code behind `shopflow shards add` (created,
 * migrated, registered JOINING), then made ACTIVE when it is to own arcs of the ring from the
 * start (an empty shard before any customer exists: nothing to rebalance onto it).
 */

export interface ShardServer {
  id: string;
  url: string;
  server: PostgresServer;
}

/** How the catalogue's PostgreSQL runs, for shard servers to run the same way. */
export interface CatalogueServerProfile {
  /** Its binaries, when the machine has them in Debian's layout; else embedded PostgreSQL's. */
  binDir?: string;
  /** Its settings that change what a transaction costs, as it has them. */
  settings: Record<string, string>;
}

/**
 * Settings that change the CPU a transaction or the server's background work costs. A shard
 * server that differed in one would measure that setting rather than routing. The machine's server
 * here runs with autovacuum off, shard servers had PostgreSQL's default (on): in one 4-shard round
 * of 30 s each way the shard servers took 10.0 ms per order with it on and 9.7 with it off, within
 * the noise, but a longer run would vacuum more.
 */
const COST_SETTINGS = [
  'autovacuum',
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'wal_level',
  'wal_buffers',
  'wal_writer_delay',
  'commit_delay',
  'max_wal_size',
  'min_wal_size',
  'checkpoint_timeout',
  'shared_buffers',
  'work_mem',
  'bgwriter_delay',
  'jit',
  'track_io_timing',
  'track_functions',
];

/**
 * The version and the settings of the PostgreSQL that serves the catalogue, so that a comparison of
 * 1 and N shards compares like with like: its binaries (/usr/lib/postgresql/<major>/bin) where the
 * machine has them (embedded PostgreSQL is 18, where the machine's is 15 here), and its
 * COST_SETTINGS, each in its base unit as `-c` takes it.
 */
export async function catalogueServerProfile(databaseUrl: string): Promise<CatalogueServerProfile> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: version } = await client.query<{ version: string }>(
      `SELECT current_setting('server_version_num') AS version`,
    );
    const dir = `/usr/lib/postgresql/${Math.floor(Number(version[0]!.version) / 10_000)}/bin`;
    const binDir = existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres')) ? dir : undefined;
    const { rows } = await client.query<{ name: string; setting: string }>(
      'SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name',
      [COST_SETTINGS],
    );
    return { ...(binDir ? { binDir } : {}), settings: Object.fromEntries(rows.map((r) => [r.name, r.setting])) };
  } finally {
    await client.end();
  }
}

/** Starts and adds one shard; stops its server again if it cannot be added. */
export async function addServerShard(
  catalogue: Database,
  id: string,
  state: 'JOINING' | 'ACTIVE',
  profile: CatalogueServerProfile,
): Promise<ShardServer> {
  const server = await startPostgresServer({ durable: true, ...profile });
  const url = server.url('shopflow');
  try {
    await addShard(catalogue, { id, url, region: 'local' });
    if (state === 'ACTIVE') await setShardState(catalogue, id, 'ACTIVE');
    return { id, url, server };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Every process of the shards' servers (postmaster and backends), for a CpuMeter's group. */
export function shardServerPids(shards: readonly ShardServer[]): number[] {
  return shards.flatMap(({ server }) => [server.pid, ...childrenOf(server.pid).map((c) => c.pid)]);
}
