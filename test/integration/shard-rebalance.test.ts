import { HashRing } from '../../domain/sharding/hash-ring';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import { databaseName } from '../../platform/postgres-admin';
import { ringHash } from '../../platform/shards/ring-hash';
import { readShardMap } from '../../platform/shards/shard-map';
import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import { ShardKeysMoved, ShardKeysTotal } from '../../workflows/rebalance/search-attributes';
import { rebalanceWorkflowId, type RebalanceResult } from '../../workflows/rebalance/rebalance-contract';
import { startWorker, testConfig, type RunningWorker } from '../support/platform';
import { createRebalanceWorld, SHARD_IDS, type RebalanceWorld } from '../support/rebalance-world';
import { isGapFree, type CustomerLedger } from '../support/shard-rows';

/**
 * Rebalancing 2 -> 3 shards, each a PostgreSQL server of its own: 50 customers' order-side rows
 * (addresses, orders, lines, payments, refunds, shipments, idempotency keys, events, snapshots and
 * outbox rows, some unpublished) start on the two ACTIVE shards; a third joins. The rebalance
 * workflow moves exactly the customers the ring of three gives the new shard, and afterwards
 * each customer is on one shard only, with the same rows, money and gap-free event streams.
 */

let world: RebalanceWorld;
let worker: RunningWorker;
let temporal: TemporalClient;
let before: Map<string, CustomerLedger>;
let taskQueue: string;

beforeAll(async () => {
  world = await createRebalanceWorld('rebalance', { customers: 50 });
  before = await world.ledgers();
  const workerConfig = testConfig({ DATABASE_URL: world.shardWorld.catalogueUrl });
  worker = await startWorker(workerConfig);
  temporal = createTemporalClient(workerConfig);
  taskQueue = workerConfig.temporal.taskQueue;
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await temporal?.close();
  await world?.end();
});

it('starts with every customer on exactly one of the two active shards', () => {
  for (const ledger of before.values()) {
    expect(ledger.shards).toHaveLength(1);
    expect(ledger.shards[0]).not.toBe('shard-3');
    expect(ledger.pendingOutbox).toBeGreaterThan(0);
  }
});

it('moves exactly the customers the ring of three gives the new shard, losing and doubling nothing', async () => {
  const ring = new HashRing(SHARD_IDS, { hash: ringHash });
  const moving = world.customerIds.filter((id) => ring.shardOf(customerPartitionKey(id)) === 'shard-3');
  expect(moving.length).toBeGreaterThan(5);

  const handle = await temporal.client.workflow.start('rebalanceWorkflow', {
    workflowId: rebalanceWorkflowId(databaseName(world.shardWorld.catalogueUrl)),
    taskQueue: taskQueue,
    args: [{ fenceSettleMs: 100 }],
  });
  const result: RebalanceResult = await handle.result();

  expect(result).toMatchObject({ phase: 'completed', total: moving.length, moved: moving.length, failed: [] });
  expect(result.activated).toEqual(['shard-3']);

  const after = await world.ledgers();
  for (const customerId of world.customerIds) {
    const was = before.get(customerId)!;
    const now = after.get(customerId)!;
    const owner = ring.shardOf(customerPartitionKey(customerId));
    expect({ customerId, shards: now.shards }).toEqual({ customerId, shards: [owner] });
    expect(now.rows).toEqual(was.rows);
    expect(now.money).toEqual(was.money);
    expect(now.eventVersions).toEqual(was.eventVersions);
    expect(now.pendingOutbox).toBe(was.pendingOutbox);
    for (const versions of Object.values(now.eventVersions)) expect(isGapFree(versions)).toBe(true);
    const route = await world.router.shardFor(customerPartitionKey(customerId));
    expect(route).toMatchObject({ shardId: owner, via: 'ring', fenced: false });
  }

  // The map: the new shard on the ring, no move or mapping left behind.
  const map = await readShardMap(world.shardWorld.catalogue);
  expect(map.shards.map((s) => [s.id, s.state])).toEqual(SHARD_IDS.map((id) => [id, 'ACTIVE']));
  expect(map.mappings.size).toBe(0);
  expect(map.fenced.size).toBe(0);
  expect(map.ringChangeFenced).toBe(false);
  expect(await world.shardWorld.catalogue.shardMove.count()).toBe(0);

  // What the Web UI shows of it.
  const description = await handle.describe();
  expect(description.searchAttributes[ShardKeysTotal.name]).toEqual([moving.length]);
  expect(description.searchAttributes[ShardKeysMoved.name]).toEqual([moving.length]);
});

it('a second rebalance finds nothing to move', async () => {
  const handle = await temporal.client.workflow.start('rebalanceWorkflow', {
    workflowId: `${rebalanceWorkflowId(databaseName(world.shardWorld.catalogueUrl))}-again`,
    taskQueue: taskQueue,
    args: [{ fenceSettleMs: 100 }],
  });
  expect(await handle.result()).toMatchObject({ phase: 'completed', total: 0, moved: 0, activated: [] });
});
