import { HashRing } from '../../domain/sharding/hash-ring';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import { databaseName } from '../../platform/postgres-admin';
import { ringHash } from '../../platform/shards/ring-hash';
import { readShardMap } from '../../platform/shards/shard-map';
import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import {
  rebalanceProgressQuery,
  rebalanceWorkflowId,
  type RebalanceResult,
} from '../../workflows/rebalance/rebalance-contract';
import { shopflowWith } from '../support/cli';
import { eventually, testConfig } from '../support/platform';
import { freePort, startEntry, type LongRunning } from '../support/processes';
import { createRebalanceWorld, SHARD_IDS, type RebalanceWorld } from '../support/rebalance-world';
import { isGapFree, type CustomerLedger } from '../support/shard-rows';

/**
 * `shopflow shards rebalance` as an operator runs it, with the worker a process of its own that is
 * killed (SIGKILL) in the middle of the moves and started again: the rebalance resumes where it
 * was and ends as if nothing happened (every customer on one shard, same rows, money and event
 * streams). Around it, the refusals: a second rebalance while one runs, removing a shard that owns
 * keys, a shard that does not answer; each one line, exit code 2, nothing changed.
 */

let world: RebalanceWorld;
let temporal: TemporalClient;
let before: Map<string, CustomerLedger>;
let worker: LongRunning | undefined;
let workerEnv: Record<string, string>;
let cliEnv: Record<string, string>;
const ring = new HashRing(SHARD_IDS, { hash: ringHash });

beforeAll(async () => {
  world = await createRebalanceWorld('rebalkill', { customers: 50 });
  before = await world.ledgers();
  const config = testConfig({ DATABASE_URL: world.shardWorld.catalogueUrl });
  temporal = createTemporalClient(config);
  const [metricsPort, sdkMetricsPort] = await Promise.all([freePort(), freePort()]);
  cliEnv = { DATABASE_URL: world.shardWorld.catalogueUrl, TEMPORAL_TASK_QUEUE: config.temporal.taskQueue };
  workerEnv = {
    ...cliEnv,
    LOG_LEVEL: 'info',
    WORKER_METRICS_PORT: String(metricsPort),
    WORKER_SDK_METRICS_PORT: String(sdkMetricsPort),
  };
}, 180_000);

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await worker?.exited;
  await temporal?.close();
  await world?.end();
});

const shards = (...args: string[]) => shopflowWith(cliEnv, 'shards', ...args);
const mapVersion = async () => (await readShardMap(world.shardWorld.catalogue)).version;

it('--dry-run lists exactly the customers the ring of three gives the joining shard, and changes nothing', async () => {
  const version = await mapVersion();
  const moving = world.customerIds.filter((id) => ring.shardOf(customerPartitionKey(id)) === 'shard-3');

  const dryRun = shards('rebalance', '--dry-run');

  expect(dryRun.stderr).toBe('');
  expect(dryRun.status).toBe(0);
  const lines = dryRun.stdout.trimEnd().split('\n');
  expect(lines.slice(0, -1).sort()).toEqual(
    moving.map((id) => expect.stringMatching(new RegExp(`^customer:${id}  shard-[12] -> shard-3$`))),
  );
  expect(lines.at(-1)).toBe(
    `dry run: ${moving.length} customers would move; would make shard-3 ACTIVE; nothing changed`,
  );
  expect(await mapVersion()).toBe(version);
  expect((await readShardMap(world.shardWorld.catalogue)).shards.find((s) => s.id === 'shard-3')?.state).toBe(
    'JOINING',
  );
});

it('a worker killed in the middle of the moves: restarted, the rebalance resumes and loses or doubles nothing', async () => {
  worker = startEntry('worker/main.ts', workerEnv);
  await worker.waitForOutput('worker started', 90_000);

  const started = shards('rebalance', '--no-wait', '--fence-settle-ms', '300');
  expect(started.stderr).toBe('');
  expect(started.status).toBe(0);
  const workflowId = rebalanceWorkflowId(databaseName(world.shardWorld.catalogueUrl));
  const handle = temporal.client.workflow.getHandle(workflowId);
  const { runId } = await handle.describe();

  // A second rebalance while this one runs: refused, and the running one is the only run.
  const second = shards('rebalance');
  expect(second.status).toBe(2);
  expect(second.stderr).toBe(
    `shopflow: a rebalance is already running (workflow ${workflowId}); wait for it to finish\n`,
  );
  expect((await handle.describe()).runId).toBe(runId);

  const movedBeforeKill = await eventually(
    async () => {
      const progress = await handle.query(rebalanceProgressQuery);
      return progress.moved >= 3 ? progress.moved : undefined;
    },
    60_000,
    50,
  );
  worker.child.kill('SIGKILL');
  await worker.exited;
  // Killed mid-way: moves are still recorded as outstanding (a query would wait for a worker).
  expect(await world.shardWorld.catalogue.shardMove.count()).toBeGreaterThan(0);
  expect(movedBeforeKill).toBeGreaterThanOrEqual(3);

  worker = startEntry('worker/main.ts', workerEnv);
  const result: RebalanceResult = await handle.result();

  expect(result.failed).toEqual([]);
  expect(result.moved).toBe(result.total);
  expect(result.total).toBe(
    world.customerIds.filter((id) => ring.shardOf(customerPartitionKey(id)) === 'shard-3').length,
  );
  const after = await world.ledgers();
  for (const customerId of world.customerIds) {
    const was = before.get(customerId)!;
    const now = after.get(customerId)!;
    expect({ customerId, shards: now.shards }).toEqual({
      customerId,
      shards: [ring.shardOf(customerPartitionKey(customerId))],
    });
    expect(now.rows).toEqual(was.rows);
    expect(now.money).toEqual(was.money);
    expect(now.eventVersions).toEqual(was.eventVersions);
    expect(now.pendingOutbox).toBe(was.pendingOutbox);
    for (const versions of Object.values(now.eventVersions)) expect(isGapFree(versions)).toBe(true);
  }
  const map = await readShardMap(world.shardWorld.catalogue);
  expect(map.shards.map((s) => s.state)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
  expect(map.mappings.size).toBe(0);
  expect(await world.shardWorld.catalogue.shardMove.count()).toBe(0);
}, 240_000);

it('remove refuses a shard that still owns keys, and removes a joining one that owns none', async () => {
  const version = await mapVersion();

  const refused = shards('remove', 'shard-3');

  expect(refused.status).toBe(2);
  expect(refused.stderr).toBe(
    'shopflow: shard shard-3 still owns keys: it is ACTIVE (its arcs of the ring); nothing removed\n',
  );
  expect(await mapVersion()).toBe(version);

  const emptyUrl = world.servers[2]!.url('shopflow_spare');
  expect(shards('add', '--id', 'shard-4', '--url', emptyUrl, '--region', 'local').status).toBe(0);
  const removed = shards('remove', 'shard-4');
  expect(removed.stderr).toBe('');
  expect(removed.status).toBe(0);
  expect(removed.stdout).toBe(`removed shard shard-4; shard map version ${version + 2}\n`);
  expect((await readShardMap(world.shardWorld.catalogue)).shards.map((s) => s.id)).toEqual([...SHARD_IDS]);
});

it('rebalance refuses, changing nothing, when a shard does not answer', async () => {
  const version = await mapVersion();
  await world.servers[0]!.stop();

  const refused = shards('rebalance');

  expect(refused.status).toBe(2);
  expect(refused.stderr).toMatch(
    /^shopflow: cannot reach shard shard-1 at postgresql:\/\/postgres@127\.0\.0\.1:\d+\/shopflow: .+\n$/,
  );
  expect(await mapVersion()).toBe(version);
});
