import os from 'node:os';
import { Command } from 'commander';
import pino from 'pino';
import { createTokenBuckets, type Bucket } from '../access/rate-limit';
import { startTestRedisCluster, type TestRedisCluster } from '../test/support/redis-cluster';
import { positiveInt } from '../platform/command-line';
import { loadConfig } from '../platform/config';
import { createRedis, openRedis, type RedisClient } from '../platform/redis';
import { createReadCache, type ReadCache } from '../read-models/cache';
import type { Figures } from './support/figures';
import { quantile, round } from './support/load';
import { readProcStat } from './support/proc-cpu';
import { startPrivateRedis } from './support/redis-server';
import { writeResults } from './support/results';

/**
 * Question (issue 18): what does a Redis Cluster cost the API's two Redis paths, the rate limiter
 * and the read cache, against one Redis, on this machine?
 *
 * Two targets in one run: a redis-server of the benchmark's own, and a Redis Cluster of its own
 * (dev/redis-cluster.ts: three masters with a replica each, as `npm run redis-cluster` starts it),
 * both on loopback, both without persistence. Each is driven through the API's own code and
 * clients: `createRedis` (ioredis' Redis, or its Cluster when REDIS_CLUSTER_NODES is set),
 * `createTokenBuckets` (access/rate-limit.ts: a request's caller and IP buckets in one script), and
 * `createReadCache` (read-models/cache.ts: cache hits, each a GET of the entry and an HMGET of its
 * tags' versions). `--concurrency` operations in flight, `--operations` per measurement, targets
 * alternating for `--rounds` rounds; figures are medians over the rounds, and the ratios
 * cluster / single come from the same round. CPU per 1000 operations is the redis-server
 * processes' (all six nodes for the cluster; replicas included, as they replicate the writes) and
 * the client's (this process), from /proc.
 *
 * Every rate-limit bucket shares one hash tag (docs/redis-cluster.md), so on the cluster all of
 * them live on one master: the cluster adds no rate-limit capacity, and this measures its cost.
 * Cache entries spread over the masters; their tags' versions sit on one.
 *
 * Results: bench/results/redis-cluster.json. Progress on stderr.
 */

interface Options {
  operations: number;
  rounds: number;
  concurrency: number;
  keys: number;
}

type Target = 'single' | 'cluster';

interface Measured {
  opsPerS: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuMsPer1000: number;
  clientCpuMsPer1000: number;
}

const say = (message: string): boolean => process.stderr.write(`bench:redis-cluster: ${message}\n`);

async function main(options: Options): Promise<void> {
  const figures: Figures = {
    operations_per_measurement: options.operations,
    rounds: options.rounds,
    concurrency: options.concurrency,
    keys: options.keys,
    cpus: os.cpus().length,
    load_average_1m_start: round(os.loadavg()[0]!, 2),
    layout:
      'single: one redis-server; cluster: 3 masters with a replica each (cluster-node-timeout 2000 ms); ' +
      'both private, loopback, no persistence, on the same 2 cores as the client',
  };
  const single = await startPrivateRedis();
  // As the tests' Redis Cluster profile starts one: free ports, its own folder, stopped by pid.
  let cluster: TestRedisCluster | undefined;
  const clients: RedisClient[] = [];
  try {
    cluster = await startTestRedisCluster();
    const { state } = cluster;
    say(`single Redis ${single.url}; Redis Cluster ${state.seeds}`);
    const targets: Record<Target, { redis: RedisClient; pids: number[] }> = {
      single: { redis: await client({ REDIS_URL: single.url }), pids: [single.pid] },
      cluster: {
        redis: await client({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: state.seeds }),
        pids: state.nodes.map((node) => node.pid),
      },
    };
    clients.push(targets.single.redis, targets.cluster.redis);

    const results: Record<string, Measured[]> = {};
    const record = (name: string, measured: Measured) => (results[name] ??= []).push(measured);
    for (let r = 0; r < options.rounds; r++) {
      const order: Target[] = r % 2 === 0 ? ['single', 'cluster'] : ['cluster', 'single'];
      for (const target of order) {
        const { redis, pids } = targets[target];
        say(`round ${r + 1}/${options.rounds}: ${target}: rate limits`);
        record(`rate_limit_${target}`, await measure(options, pids, rateLimitCheck(redis, options.keys)));
        say(`round ${r + 1}/${options.rounds}: ${target}: cache hits`);
        record(`cache_hit_${target}`, await measure(options, pids, await cacheHit(redis, options.keys)));
      }
    }
    for (const [name, rounds] of Object.entries(results)) Object.assign(figures, medians(name, rounds));
    for (const path_ of ['rate_limit', 'cache_hit']) {
      const ratios = results[`${path_}_cluster`]!.map((m, i) => m.opsPerS / results[`${path_}_single`]![i]!.opsPerS);
      figures[`${path_}_ratio_cluster_vs_single_within_round_median`] = round(quantile(ratios, 0.5), 3);
      figures[`${path_}_ratio_cluster_vs_single_within_rounds`] = ratios.map((x) => round(x, 3)).join(',');
    }
  } finally {
    for (const redis of clients) redis.disconnect();
    await cluster?.stop();
    await single.stop();
  }
  figures['load_average_1m_end'] = round(os.loadavg()[0]!, 2);
  const file = writeResults('redis-cluster', figures);
  printTable(figures);
  say(`written to ${file}`);
}

/** A client as the API makes it, from the settings that choose one Redis or a cluster. */
async function client(env: Record<string, string>): Promise<RedisClient> {
  const { REDIS_CLUSTER_NODES: _inherited, ...rest } = process.env;
  const redis = createRedis(loadConfig({ ...rest, ...env }), 'shopflow-bench');
  await openRedis(redis);
  return redis;
}

/** The API's check of one request: its caller's and its IP's buckets, all or none. */
function rateLimitCheck(redis: RedisClient, keys: number): (i: number) => Promise<void> {
  const buckets = createTokenBuckets(redis, { timeoutMs: 5_000 });
  // Generous limits: every check is allowed, so each one writes both buckets.
  const bucket = (scope: 'key' | 'ip', id: number): Bucket => ({
    key: `{shopflow:ratelimit}:read:${scope}:${id}`,
    perSecond: 1_000_000,
    burst: 1_000_000,
  });
  return async (i) => {
    await buckets.take([bucket('key', i % keys), bucket('ip', (i * 7) % keys)]);
  };
}

/** A cache hit as GET /v1/orders/{id} makes it: the entry and its tags' versions, no load. */
async function cacheHit(redis: RedisClient, keys: number): Promise<(i: number) => Promise<void>> {
  const cache: ReadCache = createReadCache({
    redis,
    ttlMs: { order: 600_000, orderList: 600_000, search: 600_000, dashboard: 600_000 },
    logger: pino({ level: 'silent' }),
  });
  const tags = (id: number) => [`order:${id}`, 'projection:orders_read'];
  const order = (id: number) => ({ orderId: id, status: 'SHIPPED', lines: [{ productId: id, quantity: 1 }] });
  for (let id = 0; id < keys; id++) await cache.get('order', String(id), tags(id), () => Promise.resolve(order(id)));
  return async (i) => {
    const id = i % keys;
    const entry = await cache.get('order', String(id), tags(id), () => {
      throw new Error(`cache entry ${id} was not a hit`);
    });
    if (!entry) throw new Error(`cache entry ${id} missing`);
  };
}

/** `operations` calls, `concurrency` in flight, with the servers' and this process's CPU meanwhile. */
async function measure(
  options: Options,
  serverPids: number[],
  operation: (i: number) => Promise<void>,
): Promise<Measured> {
  const serverCpu = () => serverPids.reduce((sum, pid) => sum + (readProcStat(pid)?.cpuMs ?? 0), 0);
  const latencies: number[] = [];
  let next = 0;
  const serverBefore = serverCpu();
  const clientBefore = process.cpuUsage();
  const startedAt = performance.now();
  const worker = async (): Promise<void> => {
    while (next < options.operations) {
      const i = next++;
      const sentAt = performance.now();
      await operation(i);
      latencies.push(performance.now() - sentAt);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedS = (performance.now() - startedAt) / 1000;
  const client = process.cpuUsage(clientBefore);
  const per1000 = (ms: number) => (ms * 1000) / options.operations;
  return {
    opsPerS: options.operations / elapsedS,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    serverCpuMsPer1000: per1000(serverCpu() - serverBefore),
    clientCpuMsPer1000: per1000((client.user + client.system) / 1000),
  };
}

function medians(name: string, rounds: Measured[]): Figures {
  const median = (pick: (m: Measured) => number) => quantile(rounds.map(pick), 0.5);
  return {
    [`${name}_per_s`]: Math.round(median((m) => m.opsPerS)),
    [`${name}_p50_ms`]: round(
      median((m) => m.p50Ms),
      3,
    ),
    [`${name}_p99_ms`]: round(
      median((m) => m.p99Ms),
      3,
    ),
    [`${name}_cpu_ms_per_1000_redis_servers`]: round(
      median((m) => m.serverCpuMsPer1000),
      2,
    ),
    [`${name}_cpu_ms_per_1000_client`]: round(
      median((m) => m.clientCpuMsPer1000),
      2,
    ),
  };
}

function printTable(f: Figures): void {
  const cell = (value: string | number | undefined) => String(value ?? '-').padStart(14);
  const line = (label: string, single: string | number | undefined, cluster: string | number | undefined) =>
    `    ${label.padEnd(34)}${cell(single)}${cell(cluster)}`;
  const lines = [
    '',
    `bench:redis-cluster (${f['concurrency']} in flight, medians of ${f['rounds']} rounds)`,
    `    ${''.padEnd(34)}${cell('single')}${cell('cluster')}`,
  ];
  for (const [name, label] of [
    ['rate_limit', 'rate-limit checks (2 buckets)'],
    ['cache_hit', 'cache hits'],
  ] as const) {
    const of = (target: Target, figure: string) => f[`${name}_${target}_${figure}`];
    lines.push(
      `  ${label}`,
      line('per second', of('single', 'per_s'), of('cluster', 'per_s')),
      line(
        'p50 / p99 ms',
        `${of('single', 'p50_ms')} / ${of('single', 'p99_ms')}`,
        `${of('cluster', 'p50_ms')} / ${of('cluster', 'p99_ms')}`,
      ),
      line(
        'CPU ms per 1000: Redis servers',
        of('single', 'cpu_ms_per_1000_redis_servers'),
        of('cluster', 'cpu_ms_per_1000_redis_servers'),
      ),
      line('CPU ms per 1000: client', of('single', 'cpu_ms_per_1000_client'), of('cluster', 'cpu_ms_per_1000_client')),
      line('cluster / single (within rounds)', '', f[`${name}_ratio_cluster_vs_single_within_round_median`]),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const program = new Command('bench:redis-cluster')
  .description(
    "Rate-limit checks and cache hits per second through the API's code, on one Redis and on a Redis Cluster, in one run",
  )
  .option('--operations <n>', 'operations per measurement', positiveInt('--operations'), 50_000)
  .option('--rounds <n>', 'rounds, each measuring both targets in alternating order', positiveInt('--rounds'), 5)
  .option('--concurrency <n>', 'operations in flight', positiveInt('--concurrency'), 64)
  .option('--keys <n>', 'distinct rate-limit buckets and cache entries', positiveInt('--keys'), 10_000)
  .action((options: Options) => main(options));

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`bench:redis-cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
