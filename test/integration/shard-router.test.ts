import { customerPartitionKey } from '../../domain/sharding/partition-key';
import {
  assignPartitionKey,
  registerShard,
  shardMapVersion,
  ShardMapError,
  UnknownShardError,
  unassignPartitionKey,
} from '../../platform/shards/shard-map';
import { ringHash } from '../../platform/shards/ring-hash';
import { createShardRouter, type ShardRouter } from '../../platform/shards/router';
import { SHARD_MAP_LISTENER_NAME } from '../../platform/shards/shard-map-listener';
import { sqlPoolOf } from '../../platform/sql-pool';
import { customerKeys } from '../support/customer-keys';
import { eventually } from '../support/platform';
import { createShardWorld, type ShardWorld } from '../support/shards';

/**
 * The shard router answers "where does this customer's order data live, and which client reaches
 * it" from the shard map in the catalogue database: explicit mappings first, then the ring of
 * active shards, and the catalogue database itself while no shard owns keys.
 */

let world: ShardWorld;
let shardA: string;
let shardB: string;
const keys = customerKeys(200);

beforeAll(async () => {
  world = await createShardWorld('router');
  [shardA, shardB] = await Promise.all([world.database('a'), world.database('b')]);
});

afterAll(async () => {
  await world?.end();
});

async function currentDatabase(router: ShardRouter, partitionKey: string): Promise<string> {
  const { db } = await router.databaseFor(partitionKey);
  const [row] = await db.$queryRaw<{ name: string }[]>`SELECT current_database() AS name`;
  return row!.name;
}

const nameOf = (url: string): string => new URL(url).pathname.slice(1);

describe('with no shard registered', () => {
  it('keeps every customer on the catalogue database, as before sharding', async () => {
    const router = world.router();
    const routes = await Promise.all(keys.slice(0, 20).map((key) => router.shardFor(key)));
    expect(new Set(routes.map((r) => `${r.shardId} ${r.via} ${r.databaseUrl}`))).toEqual(
      new Set([`default default ${world.catalogueUrl}`]),
    );
    expect((await router.databaseFor(keys[0]!)).db).toBe(world.catalogue);
    expect(await router.database('default')).toBe(world.catalogue);
  });
});

describe('with two active shards', () => {
  let router: ShardRouter;

  beforeAll(async () => {
    await registerShard(world.catalogue, { id: 'shard-a', databaseUrl: shardA, region: 'eu-west', state: 'ACTIVE' });
    await registerShard(world.catalogue, { id: 'shard-b', databaseUrl: shardB, region: 'eu-north', state: 'ACTIVE' });
    router = world.router({ maxStalenessMs: 60 * 60_000 });
  });

  it('spreads customers over both by the ring, each reached through its own shard client', async () => {
    const routes = await Promise.all(keys.map((key) => router.shardFor(key)));
    const onA = routes.filter((r) => r.shardId === 'shard-a');
    expect(onA.length).toBeGreaterThan(60);
    expect(onA.length).toBeLessThan(140);
    expect(new Set(routes.map((r) => r.via))).toEqual(new Set(['ring']));
    expect(routes[0]!.hash).toBe(ringHash(keys[0]!));

    const aKey = onA[0]!.partitionKey;
    const bKey = routes.find((r) => r.shardId === 'shard-b')!.partitionKey;
    expect(await currentDatabase(router, aKey)).toBe(nameOf(shardA));
    expect(await currentDatabase(router, bKey)).toBe(nameOf(shardB));
    expect((await router.databaseFor(aKey)).db).toBe(await router.database('shard-a'));
  });

  it('lets an explicit mapping override the ring, and the ring take over again when it goes', async () => {
    const key = customerPartitionKey('c0ffee00-0000-4000-a000-000000000001');
    const byRing = (await router.shardFor(key)).shardId;
    const other = byRing === 'shard-a' ? 'shard-b' : 'shard-a';

    const version = await assignPartitionKey(world.catalogue, key, other);
    expect(await router.refresh()).toBe(version);
    expect(await router.shardFor(key)).toMatchObject({ shardId: other, via: 'mapping', mapVersion: version });
    expect(await currentDatabase(router, key)).toBe(nameOf(other === 'shard-a' ? shardA : shardB));

    const [row] = await world.catalogue.shardMapping.findMany({ where: { partitionKey: key } });
    expect(row).toMatchObject({
      shardId: other,
      databaseUrl: other === 'shard-a' ? shardA : shardB,
      region: other === 'shard-a' ? 'eu-west' : 'eu-north',
      hashValue: BigInt(ringHash(key)),
      mapVersion: version,
    });

    await unassignPartitionKey(world.catalogue, key);
    await router.refresh();
    expect(await router.shardFor(key)).toMatchObject({ shardId: byRing, via: 'ring' });
  });

  it('sees a map version bump made elsewhere within its staleness bound, and not before', async () => {
    const key = keys[7]!;
    const patient = world.router({ maxStalenessMs: 60 * 60_000 });
    const eager = world.router({ maxStalenessMs: 50 });
    const before = await eager.shardFor(key);
    expect((await patient.shardFor(key)).shardId).toBe(before.shardId);
    const other = before.shardId === 'shard-a' ? 'shard-b' : 'shard-a';

    // Another process moves the customer: only the catalogue's map changes.
    const version = await assignPartitionKey(world.catalogue, key, other);
    expect(version).toBeGreaterThan(before.mapVersion);

    const seen = await eventually(async () => {
      const route = await eager.shardFor(key);
      return route.mapVersion === version ? route : undefined;
    }, 5_000);
    expect(seen).toMatchObject({ shardId: other, via: 'mapping' });
    expect(await patient.shardFor(key)).toMatchObject({ shardId: before.shardId, mapVersion: before.mapVersion });
    await patient.refresh();
    expect(await patient.shardFor(key)).toMatchObject({ shardId: other, mapVersion: version });
  });

  it('routes through a joining shard only by explicit mapping', async () => {
    const joining = await world.database('c');
    await registerShard(world.catalogue, { id: 'shard-c', databaseUrl: joining, region: 'us-east' });
    await router.refresh();
    const routes = await Promise.all(keys.map((key) => router.shardFor(key)));
    expect(routes.some((r) => r.shardId === 'shard-c')).toBe(false);

    await assignPartitionKey(world.catalogue, keys[3]!, 'shard-c');
    await router.refresh();
    expect(await router.shardFor(keys[3]!)).toMatchObject({ shardId: 'shard-c', region: 'us-east', via: 'mapping' });
    expect(await currentDatabase(router, keys[3]!)).toBe(nameOf(joining));
  });

  it('refuses an unknown shard id with a clear error, changing nothing', async () => {
    const version = await shardMapVersion(world.catalogue);
    await expect(router.database('shard-z')).rejects.toThrow(
      new UnknownShardError('shard-z', ['default', 'shard-a', 'shard-b', 'shard-c']),
    );
    await expect(router.database('shard-z')).rejects.toThrow(
      'no shard "shard-z" in the shard map (known: default, shard-a, shard-b, shard-c)',
    );
    await expect(assignPartitionKey(world.catalogue, keys[0]!, 'shard-z')).rejects.toThrow(UnknownShardError);
    expect(await shardMapVersion(world.catalogue)).toBe(version);
  });

  it('refuses a shard registered twice, or on a database another shard uses', async () => {
    const version = await shardMapVersion(world.catalogue);
    await expect(
      registerShard(world.catalogue, { id: 'shard-a', databaseUrl: 'postgresql://x/y', region: 'r' }),
    ).rejects.toThrow(new ShardMapError('shard "shard-a" already exists or already uses that database'));
    await expect(registerShard(world.catalogue, { id: 'shard-d', databaseUrl: shardB, region: 'r' })).rejects.toThrow(
      'shard "shard-b" already exists or already uses that database',
    );
    await expect(
      registerShard(world.catalogue, { id: 'Shard_D', databaseUrl: 'postgresql://x/z', region: 'r' }),
    ).rejects.toThrow(ShardMapError);
    expect(await shardMapVersion(world.catalogue)).toBe(version);
  });

  it('closes the clients it opened and refuses work afterwards', async () => {
    const own = world.router();
    const { db } = await own.databaseFor(keys[0]!);
    await currentDatabase(own, keys[0]!);
    await own.close();
    await expect(own.shardFor(keys[0]!)).rejects.toThrow('closed');
    // The catalogue client is its owner's: still usable.
    expect(await shardMapVersion(world.catalogue)).toBeGreaterThan(0);
    expect(db).not.toBe(world.catalogue);
    // Its connections are gone, not left for the server to time out.
    expect({ ended: sqlPoolOf(db).ended, connections: sqlPoolOf(db).totalCount }).toEqual({
      ended: true,
      connections: 0,
    });
  });

  it('when it listens, asks nothing between map changes, hears a change at once, and checks for itself while not listening', async () => {
    // Counts the router's version reads: each goes through the catalogue's `shardMap`.
    let versionReads = 0;
    const counted = new Proxy(world.catalogue, {
      get(target, property) {
        if (property === 'shardMap') versionReads += 1;
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const listening = createShardRouter({
      catalogue: counted,
      database: { url: world.catalogueUrl, poolSize: 2 },
      maxStalenessMs: 50,
      listen: { safetyCheckMs: 60 * 60_000 },
    });
    const listeners = async (): Promise<number[]> =>
      (
        await world.catalogue.$queryRaw<{ pid: number }[]>`
          SELECT pid FROM pg_stat_activity WHERE application_name = ${SHARD_MAP_LISTENER_NAME} AND datname = current_database()`
      ).map((row) => row.pid);
    try {
      await eventually(async () => ((await listeners()).length === 1 ? true : undefined), 5_000);
      // Connected is not yet listening: give its LISTEN a moment to return.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const key = keys[150]!;
      const before = await listening.shardFor(key);
      const readsWhenCurrent = versionReads;
      // Ten staleness bounds without a change: not one query.
      for (let i = 0; i < 20; i++) {
        await listening.databaseFor(key);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(versionReads).toBe(readsWhenCurrent);

      // A change made elsewhere is heard, not waited for.
      const other = before.shardId === 'shard-a' ? 'shard-b' : 'shard-a';
      const version = await assignPartitionKey(world.catalogue, key, other);
      const seen = await eventually(
        async () => {
          const route = await listening.shardFor(key);
          return route.mapVersion === version ? route : undefined;
        },
        2_000,
        10,
      );
      expect(seen).toMatchObject({ shardId: other, via: 'mapping' });

      // Its connection killed, the router checks the version itself before answering again.
      const readsBeforeKill = versionReads;
      await world.catalogue.$queryRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = ${SHARD_MAP_LISTENER_NAME} AND datname = current_database()`;
      await eventually(async () => {
        await listening.shardFor(key);
        return versionReads > readsBeforeKill ? true : undefined;
      }, 2_000);
      await unassignPartitionKey(world.catalogue, key);
      expect(
        await eventually(async () => {
          const route = await listening.shardFor(key);
          return route.via === 'ring' ? route : undefined;
        }, 3_000),
      ).toMatchObject({ shardId: before.shardId });
      // And it listens again.
      await eventually(async () => ((await listeners()).length === 1 ? true : undefined), 5_000);
    } finally {
      await listening.close();
    }
    expect(await listeners()).toEqual([]);
  });
});
