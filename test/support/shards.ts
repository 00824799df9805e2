import { randomUUID } from 'node:crypto';
import { createDatabase, type Database } from '../../platform/database';
import { migrate } from '../../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../../platform/postgres-admin';
import { createShardRouter, type ShardRouter, type ShardRouterOptions } from '../../platform/shards/router';
import { registerShard } from '../../platform/shards/shard-map';
import { startPostgresServer, type PostgresServer } from './postgres-server';
import { testServices } from './services';

/**
 * A world for shard-map tests: a fresh, migrated catalogue database (which holds the shard map and
 * is the default shard), databases to stand for shards, and routers over them.
 */
export interface ShardWorld {
  catalogueUrl: string;
  catalogue: Database;
  /** A further database on the test server (created empty unless `migrated`), dropped at the end. */
  database(label: string, options?: { migrated?: boolean }): Promise<string>;
  router(options?: Pick<ShardRouterOptions, 'maxStalenessMs' | 'listen'>): ShardRouter;
  end(): Promise<void>;
}

export async function createShardWorld(label: string): Promise<ShardWorld> {
  const suffix = randomUUID().replace(/-/g, '').slice(0, 8);
  const catalogueUrl = databaseUrlFor(testServices.postgresUrl, `shopflow_test_${label}_${suffix}`);
  await ensureDatabase(catalogueUrl);
  await migrate(catalogueUrl);
  const catalogue = createDatabase({ database: { url: catalogueUrl, poolSize: 4 } });
  const databases: string[] = [];
  const routers: ShardRouter[] = [];
  return {
    catalogueUrl,
    catalogue,
    async database(name, { migrated = false } = {}) {
      const url = databaseUrlFor(testServices.postgresUrl, `shopflow_test_${label}_${suffix}_${name}`);
      await ensureDatabase(url);
      if (migrated) await migrate(url);
      databases.push(url);
      return url;
    },
    router(options = {}) {
      const router = createShardRouter({ catalogue, database: { url: catalogueUrl, poolSize: 2 }, ...options });
      routers.push(router);
      return router;
    },
    async end() {
      await Promise.all(routers.map((router) => router.close()));
      await catalogue.$disconnect();
      if (process.env['KEEP_TEST_DATABASE']) return;
      await Promise.all([...databases, catalogueUrl].map((url) => dropDatabase(url)));
    },
  };
}

/**
 * Shards that are servers of their own: for each id, a PostgreSQL server with a migrated
 * `shopflow` database, registered ACTIVE in the world's map. The caller stops the servers; if one
 * cannot be set up, those already started are stopped before the error is thrown.
 */
export async function startServerShards(world: ShardWorld, ids: readonly string[]): Promise<PostgresServer[]> {
  const servers: PostgresServer[] = [];
  try {
    for (const id of ids) {
      const server = await startPostgresServer();
      servers.push(server);
      const url = server.url('shopflow');
      await ensureDatabase(url);
      await migrate(url);
      await registerShard(world.catalogue, { id, databaseUrl: url, region: 'local', state: 'ACTIVE' });
    }
    return servers;
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
}
