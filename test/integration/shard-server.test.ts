import { Client } from 'pg';
import { isAlive } from '../../dev/process-state';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import { migrate } from '../../platform/migrations';
import { ensureDatabase } from '../../platform/postgres-admin';
import { registerShard } from '../../platform/shards/shard-map';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server';
import { createShardWorld, type ShardWorld } from '../support/shards';

/**
 * A shard is a PostgreSQL server of its own: the test starts one as a separate process on its own
 * port, gives it shopflow's schema with the project's migrations, registers it, and a customer's
 * order data then goes there and not to the catalogue database.
 */

let world: ShardWorld;
let server: PostgresServer | undefined;

beforeAll(async () => {
  world = await createShardWorld('server');
});

afterAll(async () => {
  await world?.end();
  await server?.stop();
});

it('routes a customer to a shard on another PostgreSQL server, migrated like any database', async () => {
  server = await startPostgresServer();
  expect(server.port).not.toBe(5432);
  expect(isAlive(server.pid)).toBe(true);

  const shardUrl = server.url('shopflow');
  await ensureDatabase(shardUrl);
  const { applied } = await migrate(shardUrl);
  expect(applied).toContain('20261207110000_shard_map');

  await registerShard(world.catalogue, { id: 'shard-1', databaseUrl: shardUrl, region: 'local', state: 'ACTIVE' });
  const router = world.router();
  const customerId = 'a11ce000-0000-4000-a000-000000000001';
  const { route, db } = await router.databaseFor(customerPartitionKey(customerId));
  expect(route).toMatchObject({ shardId: 'shard-1', via: 'ring', databaseUrl: shardUrl });

  await db.customer.create({ data: { id: customerId, name: 'Alice', email: 'alice@example.com' } });
  const [answered] = await db.$queryRaw<{ port: number }[]>`SELECT inet_server_port() AS port`;
  expect(answered?.port).toBe(server.port);
  expect(await world.catalogue.customer.count({ where: { id: customerId } })).toBe(0);

  await router.close();
  const { pid } = server;
  await server.stop();
  server = undefined;
  expect(isAlive(pid)).toBe(false);
});

it('runs without durability for tests, and with PostgreSQL’s own durable defaults when asked', async () => {
  const settings = async (durable: boolean) => {
    const started = await startPostgresServer({ durable });
    try {
      const client = new Client({ connectionString: started.url() });
      await client.connect();
      const { rows } = await client.query<{ name: string; setting: string }>(
        `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes') ORDER BY name`,
      );
      await client.end();
      return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
    } finally {
      await started.stop();
    }
  };
  expect(await settings(false)).toEqual({ fsync: 'off', full_page_writes: 'off', synchronous_commit: 'off' });
  expect(await settings(true)).toEqual({ fsync: 'on', full_page_writes: 'on', synchronous_commit: 'on' });
});
