import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import type { Logger } from '../platform/logger';
import { ensureNamespace, registerSearchAttributes } from '../platform/temporal-namespace';
import { shopflowSearchAttributes } from '../workflows/orders/search-attributes';
import { isListening } from './port-holder';
import { isAlive } from './process-state';
import type { TemporalServerBinaries } from './temporal-server';

/**
 * A Temporal cluster on one machine: the server's four services as separate processes, from one
 * config file (ops/temporal-cluster/development.yaml), on PostgreSQL (persistence and visibility
 * in two databases, their schemas made and migrated by the server's own SQL tool). Started in the
 * background: what it started is written to `<dataDir>/cluster.json`, so that `stop` (another
 * process, later) finds the pids. Used by `npm run cluster` and by the integration tests' cluster
 * profile (`npm run test:cluster`).
 */

export const CLUSTER_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];

const repoRoot = path.resolve(__dirname, '..');
const CONFIG_DIR = path.join('ops', 'temporal-cluster');
const DYNAMIC_CONFIG = path.join(repoRoot, 'ops', 'temporal', 'dynamic-config.yaml');

export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  /** Prometheus metrics, one port per service process. */
  metrics: Record<ClusterService, number>;
}

/** Temporal's usual layout from the frontend's port: 7233 gives 7234 (history), 6933 (membership)… */
export function defaultClusterPorts(frontend = 7233): ClusterPorts {
  return {
    frontend,
    frontendHttp: frontend + 10,
    frontendMembership: frontend - 300,
    history: frontend + 1,
    historyMembership: frontend - 299,
    matching: frontend + 2,
    matchingMembership: frontend - 298,
    worker: frontend + 6,
    workerMembership: frontend - 294,
    metrics: { history: frontend + 21, matching: frontend + 22, frontend: frontend + 20, worker: frontend + 23 },
  };
}

export interface ClusterDatabase {
  /** host:port */
  address: string;
  user: string;
  password?: string;
  temporal: string;
  visibility: string;
}

/** The database of a PostgreSQL URL's server, as the SQL tool and the config take it. */
export function clusterDatabase(serverUrl: string, names: { temporal: string; visibility: string }): ClusterDatabase {
  const url = new URL(serverUrl);
  return {
    address: `${url.hostname}:${url.port || '5432'}`,
    user: decodeURIComponent(url.username || 'postgres'),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...names,
  };
}

function hostAndPort(database: Pick<ClusterDatabase, 'address'>): { host: string; port: number } {
  const [host = '127.0.0.1', port = '5432'] = database.address.split(':');
  return { host, port: Number(port) };
}

export interface ClusterState {
  address: string;
  namespace: string;
  ports: ClusterPorts;
  database: Omit<ClusterDatabase, 'password'>;
  pids: Record<ClusterService, number>;
  logs: Record<ClusterService, string>;
  startedAt: string;
}

const stateFile = (dataDir: string): string => path.join(dataDir, 'cluster.json');

export function readClusterState(dataDir: string): ClusterState | undefined {
  const file = stateFile(dataDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ClusterState) : undefined;
}

function writeClusterState(dataDir: string, state: ClusterState): void {
  writeFileSync(stateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * Creates both databases and their schemas when missing, and migrates them to the server's
 * version (`update-schema` applies only what is newer, so this is safe on every start).
 */
export async function prepareClusterDatabases(
  binaries: TemporalServerBinaries,
  database: ClusterDatabase,
  logger: Logger,
): Promise<void> {
  const { host, port } = hostAndPort(database);
  for (const [name, schemaDir] of [
    [database.temporal, binaries.schemas.temporal],
    [database.visibility, binaries.schemas.visibility],
  ] as const) {
    const sql = (...args: string[]): void => {
      const base = ['--plugin', 'postgres12', '--ep', host, '-p', String(port), '-u', database.user, '--db', name];
      if (database.password) base.push('--pw', database.password);
      const result = spawnSync(binaries.sqlTool, [...base, ...args], { encoding: 'utf8' });
      if (result.status !== 0) {
        throw new Error(`temporal-sql-tool ${args[0]} on ${name} failed: ${(result.stderr || result.stdout).trim()}`);
      }
    };
    const { exists, versioned } = await schemaState(database, name);
    if (!exists) sql('create-database');
    if (!versioned) sql('setup-schema', '-v', '0.0');
    sql('update-schema', '-d', schemaDir);
    logger.info({ database: name }, 'Temporal schema up to date');
  }
}

async function schemaState(database: ClusterDatabase, name: string): Promise<{ exists: boolean; versioned: boolean }> {
  const connect = async (db: string): Promise<PgClient> => {
    const client = new PgClient({
      ...hostAndPort(database),
      user: database.user,
      ...(database.password ? { password: database.password } : {}),
      database: db,
    });
    await client.connect();
    return client;
  };
  const admin = await connect('postgres');
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) return { exists: false, versioned: false };
  } finally {
    await admin.end();
  }
  const db = await connect(name);
  try {
    const { rows } = await db.query<{ table: string | null }>(`SELECT to_regclass('schema_version')::text AS table`);
    return { exists: true, versioned: Boolean(rows[0]?.table) };
  } finally {
    await db.end();
  }
}

/** The environment the config file is rendered with (ops/temporal-cluster/development.yaml). */
function configEnv(database: ClusterDatabase, ports: ClusterPorts, service: ClusterService): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_CLUSTER_DB: database.temporal,
    TEMPORAL_CLUSTER_VISIBILITY_DB: database.visibility,
    TEMPORAL_CLUSTER_DB_ADDRESS: database.address,
    TEMPORAL_CLUSTER_DB_USER: database.user,
    TEMPORAL_CLUSTER_DB_PASSWORD: database.password ?? '',
    TEMPORAL_CLUSTER_FRONTEND_PORT: String(ports.frontend),
    TEMPORAL_CLUSTER_FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    TEMPORAL_CLUSTER_FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
    TEMPORAL_CLUSTER_HISTORY_PORT: String(ports.history),
    TEMPORAL_CLUSTER_HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
    TEMPORAL_CLUSTER_MATCHING_PORT: String(ports.matching),
    TEMPORAL_CLUSTER_MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
    TEMPORAL_CLUSTER_WORKER_PORT: String(ports.worker),
    TEMPORAL_CLUSTER_WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
    TEMPORAL_CLUSTER_METRICS_PORT: String(ports.metrics[service]),
    TEMPORAL_CLUSTER_DYNAMIC_CONFIG: DYNAMIC_CONFIG,
  };
}

/** Starts one service in the background, its output appended to `<dataDir>/<service>.log`. */
export function startClusterService(
  binaries: TemporalServerBinaries,
  {
    dataDir,
    database,
    ports,
    service,
  }: { dataDir: string; database: ClusterDatabase; ports: ClusterPorts; service: ClusterService },
): { pid: number; log: string } {
  const log = path.join(dataDir, `${service}.log`);
  const out = openSync(log, 'a');
  try {
    const child = spawn(
      binaries.server,
      [
        '--root',
        repoRoot,
        '--config',
        CONFIG_DIR,
        '--env',
        'development',
        '--allow-no-auth',
        'start',
        '--service',
        service,
      ],
      { env: configEnv(database, ports, service), stdio: ['ignore', out, out], detached: true },
    );
    child.unref();
    if (!child.pid) throw new Error(`the ${service} service did not start`);
    return { pid: child.pid, log };
  } finally {
    closeSync(out);
  }
}

export interface StartClusterOptions {
  dataDir: string;
  database: ClusterDatabase;
  ports: ClusterPorts;
  namespace: string;
  /** How long to wait for the cluster to serve the namespace with its search attributes. */
  readyTimeoutMs?: number;
}

/**
 * Prepares the databases, starts the four services, registers the namespace and shopflow's search
 * attributes, and returns once a visibility query by one of them is answered (the frontend's
 * namespace and search-attribute caches have caught up). A cluster already running in `dataDir`
 * is an error: stop it first.
 */
export async function startTemporalCluster(
  binaries: TemporalServerBinaries,
  options: StartClusterOptions,
  logger: Logger,
): Promise<ClusterState> {
  const running = readClusterState(options.dataDir);
  if (running && Object.values(running.pids).some(isAlive)) {
    throw new Error(
      `a Temporal cluster is already running from ${options.dataDir} (${running.address}): stop it first`,
    );
  }
  mkdirSync(options.dataDir, { recursive: true });
  await prepareClusterDatabases(binaries, options.database, logger);
  const pids = {} as Record<ClusterService, number>;
  const logs = {} as Record<ClusterService, string>;
  // One after the other: the first to start writes the cluster's metadata, and services started
  // together raced to insert it (a duplicate key that stopped the matching service).
  for (const service of CLUSTER_SERVICES) {
    const started = startClusterService(binaries, { ...options, service });
    pids[service] = started.pid;
    logs[service] = started.log;
    try {
      await waitForPort(servicePort(options.ports, service), started.pid, options.readyTimeoutMs ?? 90_000);
    } catch (error) {
      for (const pid of Object.values(pids)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      throw new Error(`${error instanceof Error ? error.message : String(error)}: see ${started.log}`, {
        cause: error,
      });
    }
  }
  const { password: _password, ...database } = options.database;
  const state: ClusterState = {
    address: `127.0.0.1:${options.ports.frontend}`,
    namespace: options.namespace,
    ports: options.ports,
    database,
    pids,
    logs,
    startedAt: new Date().toISOString(),
  };
  writeClusterState(options.dataDir, state);
  try {
    await waitUntilServing(state, options.readyTimeoutMs ?? 90_000, logger);
  } catch (error) {
    await stopTemporalCluster(options.dataDir);
    throw error;
  }
  return state;
}

/** The port that says a service is up: its gRPC server's (the worker service has none: its membership). */
function servicePort(ports: ClusterPorts, service: ClusterService): number {
  return { history: ports.history, matching: ports.matching, frontend: ports.frontend, worker: ports.workerMembership }[
    service
  ];
}

/** Until something accepts connections on the port, while the process lives. */
async function waitForPort(port: number, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isListening(port))) {
    if (!isAlive(pid)) throw new Error(`the process ${pid} that was to listen on ${port} exited`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function waitUntilServing(state: ClusterState, timeoutMs: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const stillRunning = (): void => {
    const dead = CLUSTER_SERVICES.filter((service) => !isAlive(state.pids[service]));
    if (dead.length > 0) {
      const tail = readFileSync(state.logs[dead[0]!], 'utf8').trim().split('\n').slice(-5).join('\n');
      throw new Error(`the Temporal cluster's ${dead.join(', ')} exited:\n${tail}`);
    }
  };
  let lastError: unknown;
  while (Date.now() < deadline) {
    stillRunning();
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address: state.address, connectTimeout: 2_000 });
      const client = new Client({ connection, namespace: state.namespace });
      await ensureNamespace(client, state.namespace);
      await registerSearchAttributes(client, state.namespace, shopflowSearchAttributes);
      // Answered only once the frontend knows the namespace and the attribute.
      await client.workflow.count(`CustomerId = "readiness-probe"`);
      logger.info({ address: state.address, namespace: state.namespace }, 'Temporal cluster serving');
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new Error(
    `the Temporal cluster at ${state.address} did not serve namespace ${state.namespace} within ${timeoutMs} ms: ` +
      `${lastError instanceof Error ? lastError.message : String(lastError)}`,
  );
}

/**
 * Starts one service of a running cluster again (after it died or was killed), as `start` did, and
 * records its new pid so that `stop` stops it. The cluster's database must need no password (the
 * state file keeps none).
 */
export async function restartClusterService(
  binaries: TemporalServerBinaries,
  dataDir: string,
  service: ClusterService,
  timeoutMs = 60_000,
): Promise<number> {
  const state = readClusterState(dataDir);
  if (!state) throw new Error(`no Temporal cluster started from ${dataDir}`);
  if (isAlive(state.pids[service])) throw new Error(`the ${service} service (pid ${state.pids[service]}) still runs`);
  const started = startClusterService(binaries, { dataDir, database: state.database, ports: state.ports, service });
  writeClusterState(dataDir, { ...state, pids: { ...state.pids, [service]: started.pid } });
  await waitForPort(servicePort(state.ports, service), started.pid, timeoutMs);
  return started.pid;
}

/** Stops every service (SIGTERM, SIGKILL after 10 s) and forgets the state; true when one ran. */
export async function stopTemporalCluster(dataDir: string): Promise<boolean> {
  const state = readClusterState(dataDir);
  if (!state) return false;
  const pids = Object.values(state.pids).filter(isAlive);
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
  rmSync(stateFile(dataDir), { force: true });
  return pids.length > 0;
}
