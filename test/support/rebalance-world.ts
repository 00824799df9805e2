import { randomUUID } from 'node:crypto';
import { HashRing } from '../../domain/sharding/hash-ring';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import { migrate } from '../../platform/migrations';
import { ensureDatabase } from '../../platform/postgres-admin';
import { ringHash } from '../../platform/shards/ring-hash';
import { addShard } from '../../platform/shards/shard-admin';
import { registerShard } from '../../platform/shards/shard-map';
import type { ShardRouter } from '../../platform/shards/router';
import { startPostgresServer, type PostgresServer } from './postgres-server';
import { customerLedger, seedCatalogue, seedCustomerRows, type CustomerLedger } from './shard-rows';
import { createShardWorld, type ShardWorld } from './shards';

/**
 * Two ACTIVE shards, each a PostgreSQL server of its own, holding `customers` customers' order-side
 * rows where the ring of the two puts them; and a third server registered JOINING (added as an
 * operator adds one), which a rebalance is to fill.
 */
export interface RebalanceWorld {
  shardWorld: ShardWorld;
  servers: PostgresServer[];
  router: ShardRouter;
  customerIds: string[];
  /** The three shards' databases by id. */
  databases(): Promise<Record<string, Database>>;
  /** Every customer's ledger, summed over the three shards. */
  ledgers(): Promise<Map<string, CustomerLedger>>;
  end(): Promise<void>;
}

export const SHARD_IDS = ['shard-1', 'shard-2', 'shard-3'] as const;

export async function createRebalanceWorld(label: string, options: { customers: number }): Promise<RebalanceWorld> {
  const shardWorld = await createShardWorld(label);
  // One after another: three initdb at once on two cores can outlast a connection timeout.
  const servers: PostgresServer[] = [];
  for (let i = 0; i < 3; i++) servers.push(await startPostgresServer());
  const urls = servers.map((server) => server.url('shopflow'));
  for (const [i, id] of ['shard-1', 'shard-2'].entries()) {
    await ensureDatabase(urls[i]!);
    await migrate(urls[i]!);
    await registerShard(shardWorld.catalogue, { id, databaseUrl: urls[i]!, region: 'local', state: 'ACTIVE' });
  }
  const router = shardWorld.router({ maxStalenessMs: 0 });
  const ring = new HashRing(['shard-1', 'shard-2'], { hash: ringHash });
  const customerIds = Array.from({ length: options.customers }, () => randomUUID()).sort();
  for (const id of ['shard-1', 'shard-2']) await seedCatalogue(await router.database(id));
  for (const [seed, customerId] of customerIds.entries()) {
    const db = await router.database(ring.shardOf(customerPartitionKey(customerId)));
    await seedCustomerRows(db, customerId, { orders: 1 + (seed % 3), seed });
  }
  await addShard(shardWorld.catalogue, { id: 'shard-3', url: urls[2]!, region: 'local' });

  const databases = async () =>
    Object.fromEntries(await Promise.all(SHARD_IDS.map(async (id) => [id, await router.database(id)] as const)));
  return {
    shardWorld,
    servers,
    router,
    customerIds,
    databases,
    async ledgers() {
      const dbs = await databases();
      return new Map(await Promise.all(customerIds.map(async (id) => [id, await customerLedger(dbs, id)] as const)));
    },
    async end() {
      await shardWorld.end();
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}
