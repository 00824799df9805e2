import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfigOrExit } from '../platform/config';
import {
  readRedisClusterState,
  redisClusterRoles,
  startRedisCluster,
  stopRedisCluster,
  type RedisClusterState,
} from '../dev/redis-cluster';
import { isAlive } from '../dev/process-state';

/**
 * `npm run redis-cluster -- start|stop|status`: a Redis Cluster on this machine, three masters with
 * one replica each (dev/redis-cluster.ts). shopflow uses it when REDIS_CLUSTER_NODES names it.
 */

const defaultDataDir = (dataDir: string): string => path.join(dataDir, 'redis-cluster');

function port(value: string): number {
  const n = Number(value);
  // Each node's cluster bus listens on its port + 10000.
  if (!Number.isInteger(n) || n < 1024 || n > 55_000)
    throw new InvalidArgumentError('must be a port from 1024 to 55000');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 100) throw new InvalidArgumentError('must be a number of milliseconds, at least 100');
  return n;
}

function describe(state: RedisClusterState): string {
  const roles = new Map(redisClusterRoles(state).map(({ port, role }) => [port, role]));
  return [
    `Redis Cluster of ${state.nodes.length} nodes (cluster-node-timeout ${state.nodeTimeoutMs} ms)`,
    ...state.nodes.map(
      ({ port, pid, log }) =>
        `  127.0.0.1:${port}  ${(isAlive(pid) ? (roles.get(port) ?? '?') : 'STOPPED').padEnd(7)} pid ${pid}, log ${log}`,
    ),
    `Use it: REDIS_CLUSTER_NODES=${state.seeds} npm start`,
  ].join('\n');
}

const program = new Command('redis-cluster').description(
  "A Redis Cluster on this machine: three masters with one replica each, from the system's redis-server.",
);

program
  .command('start')
  .description('start six redis-server processes and join them into a cluster')
  .option('--data-dir <dir>', 'where its logs, node files and pids go (default: DATA_DIR/redis-cluster)')
  .option('--port <port>', "the first node's port; the other five follow it", port, 7000)
  .option(
    '--node-timeout-ms <ms>',
    'cluster-node-timeout: how long before a replica replaces its master',
    positive,
    2000,
  )
  .action(async (options: { dataDir?: string; port: number; nodeTimeoutMs: number }) => {
    const config = loadConfigOrExit();
    const dataDir = options.dataDir ?? defaultDataDir(config.dataDir);
    try {
      const state = await startRedisCluster({ dataDir, firstPort: options.port, nodeTimeoutMs: options.nodeTimeoutMs });
      process.stdout.write(`${describe(state)}\n`);
    } catch (error) {
      process.stderr.write(`shopflow redis-cluster start: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  });

program
  .command('stop')
  .description('stop the nodes (SIGTERM, then SIGKILL after 5 s); nothing is kept')
  .option('--data-dir <dir>', 'as given to start')
  .action(async (options: { dataDir?: string }) => {
    const config = loadConfigOrExit();
    const dataDir = options.dataDir ?? defaultDataDir(config.dataDir);
    const stopped = await stopRedisCluster(dataDir);
    process.stdout.write(
      stopped ? `stopped the Redis Cluster of ${dataDir}\n` : `no Redis Cluster running from ${dataDir}\n`,
    );
  });

program
  .command('status')
  .description("what runs, each node's role, and its log")
  .option('--data-dir <dir>', 'as given to start')
  .action((options: { dataDir?: string }) => {
    const config = loadConfigOrExit();
    const dataDir = options.dataDir ?? defaultDataDir(config.dataDir);
    const state = readRedisClusterState(dataDir);
    if (!state) {
      process.stderr.write(`shopflow redis-cluster status: no Redis Cluster started from ${dataDir}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${describe(state)}\n`);
  });

void program.parseAsync();
