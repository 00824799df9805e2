import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startRedisCluster, stopRedisCluster, type RedisClusterState } from '../../dev/redis-cluster';

/**
 * The integration tests' Redis Cluster profile (`npm run test:redis-cluster`): a Redis Cluster of
 * its own (dev/redis-cluster.ts) on free ports, instead of the machine's Redis. Stopped by the
 * global teardown.
 */

export interface TestRedisCluster {
  state: RedisClusterState;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestRedisCluster(attempts = 3): Promise<TestRedisCluster> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-test-redis-cluster-'));
  for (let attempt = 1; ; attempt++) {
    // Six consecutive ports and their cluster bus ports (+10000), below the ephemeral range.
    const firstPort = 20_000 + Math.floor(Math.random() * 9_000);
    try {
      const state = await startRedisCluster({ dataDir, firstPort });
      return {
        state,
        dataDir,
        async stop() {
          await stopRedisCluster(dataDir);
          if (!process.env['KEEP_TEST_DATABASE']) rmSync(dataDir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      // A port taken meanwhile: try elsewhere. Anything else is the cluster's to explain.
      if (attempt >= attempts || !String(error).includes('already in use')) throw error;
    }
  }
}
