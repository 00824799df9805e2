import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canListen, isListening } from './port-holder';
import { isAlive } from './process-state';

/**
 * A Redis Cluster on one machine: three masters with one replica each, from the system's
 * `redis-server` and `redis-cli`, on consecutive local ports. Started in the background: what it
 * started is written to `<dataDir>/redis-cluster.json`, so that `stop` (another process, later)
 * finds the pids. Used by `npm run redis-cluster` and the tests' Redis Cluster profile
 * (`npm run test:redis-cluster`). Nothing is persisted: a node that dies comes back empty.
 */

export const REDIS_CLUSTER_NODES = 6;
const HOST = '127.0.0.1';

export interface RedisClusterNode {
  port: number;
  pid: number;
  log: string;
}

export interface RedisClusterState {
  nodes: RedisClusterNode[];
  /** host:port,host:port,…: the value REDIS_CLUSTER_NODES takes to use this cluster. */
  seeds: string;
  nodeTimeoutMs: number;
  startedAt: string;
}

export interface StartRedisClusterOptions {
  dataDir: string;
  /** The first node's port; the others follow it. */
  firstPort: number;
  /**
   * How long a master may be unreachable before its replica is promoted (cluster-node-timeout).
   * Small here, so that a failover takes seconds; production keeps Redis' 15 s or so.
   */
  nodeTimeoutMs?: number;
  readyTimeoutMs?: number;
}

const stateFile = (dataDir: string): string => path.join(dataDir, 'redis-cluster.json');

export function readRedisClusterState(dataDir: string): RedisClusterState | undefined {
  const file = stateFile(dataDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RedisClusterState) : undefined;
}

/** Runs redis-cli against one node; its output, or an error with what it printed. */
export function redisCli(port: number, ...args: string[]): string {
  const result = spawnSync('redis-cli', ['-h', HOST, '-p', String(port), ...args], { encoding: 'utf8' });
  if (result.error) throw new Error(`redis-cli: ${result.error.message}`);
  if (result.status !== 0 || /^(ERR|\(error\))/m.test(result.stdout)) {
    throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${(result.stderr || result.stdout).trim()}`);
  }
  return result.stdout;
}

/** `CLUSTER INFO` (or `INFO replication`) as fields; empty when the node does not answer. */
function fields(port: number, ...command: string[]): Record<string, string> {
  try {
    return Object.fromEntries(
      redisCli(port, ...command)
        .split(/\r?\n/)
        .filter((line) => line.includes(':'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
    );
  } catch {
    return {};
  }
}

function startNode(dataDir: string, port: number, nodeTimeoutMs: number): RedisClusterNode {
  const log = path.join(dataDir, `redis-${port}.log`);
  const out = openSync(log, 'a');
  try {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        HOST,
        '--dir',
        dataDir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', out, out], detached: true },
    );
    child.unref();
    if (!child.pid) throw new Error(`redis-server on port ${port} did not start`);
    return { port, pid: child.pid, log };
  } finally {
    closeSync(out);
  }
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether every node sees the whole cluster healthy and every replica has synced with its master. */
export function redisClusterHealthy(ports: readonly number[]): boolean {
  return ports.every((port) => {
    const info = fields(port, 'cluster', 'info');
    if (info['cluster_state'] !== 'ok' || info['cluster_slots_ok'] !== '16384') return false;
    if (info['cluster_known_nodes'] !== String(ports.length)) return false;
    const replication = fields(port, 'info', 'replication');
    return replication['role'] === 'master' || replication['master_link_status'] === 'up';
  });
}

/**
 * Starts six nodes, joins them into a cluster (`redis-cli --cluster create`, one replica per
 * master) and returns once every node reports cluster_state:ok and every replica has synced. A
 * cluster already running from `dataDir`, or a port taken, is an error; a failed start stops what
 * it started (the nodes' logs stay in `dataDir`).
 */
export async function startRedisCluster(options: StartRedisClusterOptions): Promise<RedisClusterState> {
  const { dataDir, firstPort } = options;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const running = readRedisClusterState(dataDir);
  if (running?.nodes.some((node) => isAlive(node.pid))) {
    throw new Error(`a Redis Cluster is already running from ${dataDir} (${running.seeds}): stop it first`);
  }
  const ports = Array.from({ length: REDIS_CLUSTER_NODES }, (_, i) => firstPort + i);
  // A node's cluster bus listens on its port + 10000.
  for (const port of ports.flatMap((p) => [p, p + 10_000])) {
    if (!(await canListen(HOST, port))) throw new Error(`port ${port} is already in use: choose another --port`);
  }
  mkdirSync(dataDir, { recursive: true });
  // Node ids and slots from an earlier cluster in this folder would make the nodes refuse to join.
  for (const port of ports) rmSync(path.join(dataDir, `nodes-${port}.conf`), { force: true });
  const nodes: RedisClusterNode[] = [];
  try {
    for (const port of ports) nodes.push(startNode(dataDir, port, nodeTimeoutMs));
    for (const node of nodes) {
      await waitFor(
        `redis-server on port ${node.port} does not listen (see ${node.log})`,
        async () => {
          if (!isAlive(node.pid)) throw new Error(`redis-server on port ${node.port} exited: see ${node.log}`);
          return isListening(node.port);
        },
        readyTimeoutMs,
      );
    }
    redisCli(
      firstPort,
      '--cluster',
      'create',
      ...ports.map((port) => `${HOST}:${port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    );
    await waitFor('the Redis Cluster is not healthy', () => redisClusterHealthy(ports), readyTimeoutMs);
  } catch (error) {
    for (const node of nodes) if (isAlive(node.pid)) process.kill(node.pid, 'SIGKILL');
    throw error;
  }
  const state: RedisClusterState = {
    nodes,
    seeds: ports.map((port) => `${HOST}:${port}`).join(','),
    nodeTimeoutMs,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(stateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

/** Each node's role as the cluster sees it now (`master` or `slave`), and whether it answers. */
export function redisClusterRoles(state: RedisClusterState): { port: number; role: string }[] {
  return state.nodes.map(({ port }) => ({ port, role: fields(port, 'info', 'replication')['role'] ?? 'down' }));
}

/** Stops every node (SIGTERM, SIGKILL after 5 s) and forgets the state; true when one ran. */
export async function stopRedisCluster(dataDir: string): Promise<boolean> {
  const state = readRedisClusterState(dataDir);
  if (!state) return false;
  const pids = state.nodes.map((node) => node.pid).filter(isAlive);
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
  rmSync(stateFile(dataDir), { force: true });
  return pids.length > 0;
}
