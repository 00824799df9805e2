import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfigOrExit } from '../platform/config';
import { createLogger } from '../platform/logger';
import { databaseUrlFor } from '../platform/postgres-admin';
import {
  clusterDatabase,
  defaultClusterPorts,
  readClusterState,
  startTemporalCluster,
  stopTemporalCluster,
  type ClusterState,
} from '../dev/temporal-cluster';
import { ensureTemporalServer, TEMPORAL_SERVER_VERSION } from '../dev/temporal-server';
import { isAlive } from '../dev/process-state';

/**
 * `npm run cluster -- start|stop|status`: a Temporal cluster on PostgreSQL on this machine, its
 * four services as separate processes (dev/temporal-cluster.ts). `npm start` and the tools use it
 * when TEMPORAL_ADDRESS points at its frontend.
 */

const defaultDataDir = (dataDir: string): string => path.join(dataDir, 'temporal-cluster');

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 400 || n > 65_000) throw new InvalidArgumentError('must be a port from 400 to 65000');
  return n;
}

function describe(state: ClusterState): string {
  const alive = Object.entries(state.pids).map(
    ([service, pid]) =>
      `  ${service.padEnd(9)} pid ${pid} ${isAlive(pid) ? 'running' : 'STOPPED'}, log ${state.logs[service as keyof typeof state.logs]}`,
  );
  return [
    `Temporal cluster (server ${TEMPORAL_SERVER_VERSION}) at ${state.address}, namespace ${state.namespace}`,
    `  frontend  grpc ${state.ports.frontend}, http ${state.ports.frontendHttp}; history ${state.ports.history}; matching ${state.ports.matching}; worker ${state.ports.worker}`,
    `  metrics   ${Object.entries(state.ports.metrics)
      .map(([s, p]) => `${s} 127.0.0.1:${p}`)
      .join(', ')}`,
    `  databases ${state.database.temporal}, ${state.database.visibility} on ${state.database.address}`,
    ...alive,
    `Use it: TEMPORAL_ADDRESS=${state.address} npm start`,
  ].join('\n');
}

const program = new Command('cluster').description(
  'A Temporal cluster on PostgreSQL on this machine: frontend, history, matching and worker as separate\n' +
    'processes from ops/temporal-cluster/development.yaml, built with go install on first use.',
);

program
  .command('start')
  .description(
    'create and migrate its databases, start the four services, register the namespace and search attributes',
  )
  .option('--data-dir <dir>', 'where its logs and pids go (default: DATA_DIR/temporal-cluster)')
  .option('--port <port>', "the frontend's gRPC port; the others follow Temporal's layout from it", port, 7233)
  .option('--database-prefix <name>', 'its two databases are <name> and <name>_visibility', 'shopflow_temporal')
  .action(async (options: { dataDir?: string; port: number; databasePrefix: string }) => {
    const config = loadConfigOrExit();
    const logger = createLogger(config, 'shopflow-temporal-cluster', 'stderr');
    const dataDir = options.dataDir ?? defaultDataDir(config.dataDir);
    try {
      const binaries = await ensureTemporalServer(logger);
      const state = await startTemporalCluster(
        binaries,
        {
          dataDir,
          // The server of shopflow's own database, unless told otherwise.
          database: clusterDatabase(databaseUrlFor(config.database.url, 'postgres'), {
            temporal: options.databasePrefix,
            visibility: `${options.databasePrefix}_visibility`,
          }),
          ports: defaultClusterPorts(options.port),
          namespace: config.temporal.namespace,
        },
        logger,
      );
      process.stdout.write(`${describe(state)}\n`);
    } catch (error) {
      process.stderr.write(`shopflow cluster start: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  });

program
  .command('stop')
  .description('stop the services (SIGTERM, then SIGKILL after 10 s); the databases stay')
  .option('--data-dir <dir>', 'as given to start')
  .action(async (options: { dataDir?: string }) => {
    const config = loadConfigOrExit();
    const dataDir = options.dataDir ?? defaultDataDir(config.dataDir);
    const stopped = await stopTemporalCluster(dataDir);
    process.stdout.write(
      stopped ? `stopped the Temporal cluster of ${dataDir}\n` : `no Temporal cluster running from ${dataDir}\n`,
    );
  });

program
  .command('status')
  .description('what runs, where, and its logs')
  .option('--data-dir <dir>', 'as given to start')
  .action((options: { dataDir?: string }) => {
    const config = loadConfigOrExit();
    const dataDir = options.dataDir ?? defaultDataDir(config.dataDir);
    const state = readClusterState(dataDir);
    if (!state) {
      process.stderr.write(`shopflow cluster status: no Temporal cluster started from ${dataDir}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${describe(state)}\n`);
  });

void program.parseAsync();
