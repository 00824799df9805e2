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
 * (test/support/postgres-server.ts: the catalogue's PostgreSQL version where the machine has its
 * binaries, else embedded PostgreSQL's; durable as PostgreSQL's defaults
 * and the machine's server are: a shard that skipped fsync would commit faster than the catalogue), its
 * `shopflow` database added to the map by the code behind `shopflow shards add` (created,
 * migrated, registered JOINING), then made ACTIVE when it is to own arcs of the ring from the
 * start (an empty shard before any customer exists: nothing to rebalance onto it).
 */

export interface ShardServer {
  id: string;
  url: string;
  server: PostgresServer;
}

/**
 * The binaries of the PostgreSQL that serves the catalogue, when the machine has them in Debian's
 * layout (/usr/lib/postgresql/<major>/bin): shards then run the same version as the catalogue, so
 * that a comparison of 1 and N shards compares like with like (embedded PostgreSQL is 18, where the
 * machine's is 15 here). Undefined elsewhere: embedded PostgreSQL's, as the tests use.
 */
export async function catalogueServerBinaries(databaseUrl: string): Promise<string | undefined> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string }>(`SELECT current_setting('server_version_num') AS version`);
    const dir = `/usr/lib/postgresql/${Math.floor(Number(rows[0]!.version) / 10_000)}/bin`;
    return existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres')) ? dir : undefined;
  } finally {
    await client.end();
  }
}

/** Starts and adds one shard; stops its server again if it cannot be added. */
export async function addServerShard(
  catalogue: Database,
  id: string,
  state: 'JOINING' | 'ACTIVE',
  binDir?: string,
): Promise<ShardServer> {
  const server = await startPostgresServer({ durable: true, ...(binDir ? { binDir } : {}) });
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
