import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  CLUSTER_SERVICES,
  clusterDatabase,
  startTemporalCluster,
  stopTemporalCluster,
  type ClusterPorts,
  type ClusterService,
  type ClusterState,
} from '../../dev/temporal-cluster';
import { canListen } from '../../dev/port-holder';
import { ensureTemporalServer } from '../../dev/temporal-server';
import { databaseUrlFor, dropDatabase } from '../../platform/postgres-admin';
import { testServices } from './services';

/**
 * The integration tests' cluster profile (`npm run test:cluster`): a Temporal cluster of its own
 * (dev/temporal-cluster.ts) on fresh databases of the test PostgreSQL and free ports, instead of
 * the dev server. Stopped, and its databases dropped, by the global teardown.
 */

export interface TestCluster {
  state: ClusterState;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * A free port below 32768: Temporal keeps a member's port in a smallint column
 * (cluster_membership.rpc_port), so the ports the system hands out for port 0 (32768–60999 on
 * Linux) make a service exit ("value out of range for type smallint").
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen('127.0.0.1', port)) return port;
  }
}

async function freePorts(): Promise<ClusterPorts> {
  const metrics = {} as Record<ClusterService, number>;
  for (const service of CLUSTER_SERVICES) metrics[service] = await freePort();
  return {
    frontend: await freePort(),
    frontendHttp: await freePort(),
    frontendMembership: await freePort(),
    history: await freePort(),
    historyMembership: await freePort(),
    matching: await freePort(),
    matchingMembership: await freePort(),
    worker: await freePort(),
    workerMembership: await freePort(),
    metrics,
  };
}

export async function startTestCluster(logger: Logger, namespace: string): Promise<TestCluster> {
  const binaries = await ensureTemporalServer(logger);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-test-cluster-'));
  const prefix = `shopflow_test_temporal_${randomUUID().slice(0, 8)}`;
  const names = { temporal: prefix, visibility: `${prefix}_visibility` };
  const serverUrl = databaseUrlFor(testServices.postgresUrl, 'postgres');
  const dropDatabases = async (): Promise<void> => {
    if (process.env['KEEP_TEST_DATABASE']) return;
    for (const name of Object.values(names)) await dropDatabase(databaseUrlFor(serverUrl, name));
  };
  let state: ClusterState;
  try {
    state = await startTemporalCluster(
      binaries,
      { dataDir, database: clusterDatabase(serverUrl, names), ports: await freePorts(), namespace },
      logger,
    );
  } catch (error) {
    // A cluster that did not start leaves no databases behind (its processes are stopped already);
    // its folder stays, with the services' logs that the error names.
    await dropDatabases();
    throw error;
  }
  return {
    state,
    dataDir,
    async stop() {
      await stopTemporalCluster(dataDir);
      await dropDatabases();
      if (!process.env['KEEP_TEST_DATABASE']) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
