import type { Database } from '../../platform/database';
import { addShard } from '../../platform/shards/shard-admin';
import { setShardState } from '../../platform/shards/shard-map';
import { startPostgresServer, type PostgresServer } from '../../test/support/postgres-server';
import { childrenOf } from './proc-cpu';

/**
 * Shards for a benchmark as an operator makes them: a PostgreSQL server of its own per shard
 * (test/support/postgres-server.ts: embedded PostgreSQL's binaries, durable as PostgreSQL's defaults
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

/** Starts and adds one shard; stops its server again if it cannot be added. */
export async function addServerShard(
  catalogue: Database,
  id: string,
  state: 'JOINING' | 'ACTIVE',
): Promise<ShardServer> {
  const server = await startPostgresServer({ durable: true });
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
