import { ApplicationFailure } from '@temporalio/common';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import { fencedActivityFailure, PartitionFencedError } from '../../platform/shards/partition-fence';
import { registerShard, shardMapVersion } from '../../platform/shards/shard-map';
import { abandonMove, fenceMove, pinMovesAndActivate, setRingChangeFence } from '../../platform/shards/shard-moves';
import { createShardWorld, type ShardWorld } from '../support/shards';
import { customerKeys } from '../support/customer-keys';

/**
 * While a customer moves between shards, writes to them are fenced: the router answers
 * `databaseFor` on the key with a typed PartitionFencedError (retry later, and when) instead of
 * a client, as soon as it has seen the fence in the map; other keys are untouched. The same holds
 * for every key the ring is about to move while a rebalance activates a joining shard.
 */

let world: ShardWorld;
const keys = customerKeys(200);

beforeAll(async () => {
  world = await createShardWorld('fencing');
  const [a, b] = await Promise.all([world.database('a'), world.database('b')]);
  await registerShard(world.catalogue, { id: 'shard-a', databaseUrl: a, region: 'local', state: 'ACTIVE' });
  await registerShard(world.catalogue, { id: 'shard-b', databaseUrl: b, region: 'local' });
});

afterAll(async () => {
  await world?.end();
});

it('a key whose move is fenced gets PartitionFencedError with a retry-after hint; a pinned one is writable', async () => {
  const router = world.router({ maxStalenessMs: 0 });
  const [moving, other] = [keys[0]!, keys[1]!];
  await pinMovesAndActivate(world.catalogue, {
    rebalanceId: 'test',
    moves: [{ partitionKey: moving, sourceShardId: 'shard-a', targetShardId: 'shard-b' }],
    activate: [],
  });
  // Planned, not fenced yet: routed to its source by the mapping, and writable.
  expect(await router.databaseFor(moving)).toMatchObject({ route: { shardId: 'shard-a', via: 'mapping' } });

  const version = await shardMapVersion(world.catalogue);
  expect(await fenceMove(world.catalogue, moving)).toBe('FENCED');
  expect(await shardMapVersion(world.catalogue)).toBe(version + 1);

  const refused = await router.databaseFor(moving).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(PartitionFencedError);
  expect(refused).toMatchObject({ partitionKey: moving, retryAfterMs: 1_000, retryAfterSeconds: 1 });
  expect(await router.shardFor(moving)).toMatchObject({ shardId: 'shard-a', fenced: true });
  expect(await router.databaseFor(other)).toMatchObject({ route: { fenced: false } });

  // Fencing again is a no-op: same state, no new map version.
  expect(await fenceMove(world.catalogue, moving)).toBe('FENCED');
  expect(await shardMapVersion(world.catalogue)).toBe(version + 1);

  await abandonMove(world.catalogue, moving);
  expect(await router.databaseFor(moving)).toMatchObject({ route: { shardId: 'shard-a', fenced: false } });
});

it('a router sees a fence within its staleness, which is what the rebalancer waits out before copying', async () => {
  const router = world.router({ maxStalenessMs: 300 });
  const key = keys[2]!;
  await pinMovesAndActivate(world.catalogue, {
    rebalanceId: 'test',
    moves: [{ partitionKey: key, sourceShardId: 'shard-a', targetShardId: 'shard-b' }],
    activate: [],
  });
  await router.databaseFor(key);
  await fenceMove(world.catalogue, key);
  // Its cached map is older than the fence...
  await expect(router.databaseFor(key)).resolves.toBeDefined();
  // ...and no older than its staleness allows.
  await new Promise((resolve) => setTimeout(resolve, 350));
  await expect(router.databaseFor(key)).rejects.toBeInstanceOf(PartitionFencedError);
  await abandonMove(world.catalogue, key);
});

it('while a rebalance activates a joining shard, exactly the keys the new ring moves are fenced', async () => {
  const router = world.router({ maxStalenessMs: 0 });
  const unmapped = keys.slice(10);
  const before = await Promise.all(unmapped.map((key) => router.shardFor(key)));
  expect(new Set(before.map((r) => r.shardId))).toEqual(new Set(['shard-a']));

  await setRingChangeFence(world.catalogue, true);
  const during = await Promise.all(unmapped.map((key) => router.shardFor(key)));
  await pinMovesAndActivate(world.catalogue, { rebalanceId: 'test', moves: [], activate: ['shard-b'] });
  const after = await Promise.all(unmapped.map((key) => router.shardFor(key)));

  const fenced = during.filter((r) => r.fenced).map((r) => r.partitionKey);
  const moved = after.filter((r) => r.shardId === 'shard-b').map((r) => r.partitionKey);
  expect(fenced.length).toBeGreaterThan(50);
  expect(fenced).toEqual(moved);
  await expect(router.databaseFor(fenced[0]!)).resolves.toMatchObject({ route: { shardId: 'shard-b' } });
  expect(after.every((r) => !r.fenced)).toBe(true);
});

it('an activity turns the error into a retryable failure that Temporal retries after the hint', () => {
  const failure = fencedActivityFailure(new PartitionFencedError(customerPartitionKey('c1'), 1_500));
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({ type: 'PartitionFenced', nonRetryable: false, nextRetryDelay: 1_500 });
});
