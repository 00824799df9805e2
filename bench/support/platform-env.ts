import { randomBytes } from 'node:crypto';
import { freePort } from '../../test/support/processes';
import { childrenOf } from './proc-cpu';

/**
 * What every benchmark that runs the whole platform (bench/platform.ts, bench/shard-orders.ts)
 * gives shopflow's processes, and how it finds the dev server it measures.
 */

/** Orders wait for the carrier: long enough that none is flagged overdue while a phase runs. */
export const DELIVERY_TIMEOUT_MS = 10 * 60_000;

export interface PlatformEnvOptions {
  logLevel: 'warn' | 'info';
  databaseUrl: string;
  redisUrl: string;
  temporalAddress: string;
  dataDir: string;
  /** Settings over the benchmark's own (`--set KEY=VALUE`). */
  set?: Record<string, string>;
}

/**
 * The configuration of every shopflow process, as a production deployment sets it: compiled
 * code, NODE_ENV=production with keys of its own, rate limits off (measured here: the order
 * path, not the limiter), every port free on this machine.
 */
export async function platformEnv(options: PlatformEnvOptions): Promise<Record<string, string>> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: options.logLevel,
    LOG_FORMAT: 'json',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    TEMPORAL_ADDRESS: options.temporalAddress,
    DATA_DIR: options.dataDir,
    PAYLOAD_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    PAYLOAD_KEY_ID: 'bench',
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    CODEC_SERVER_PORT: String(await freePort()),
    API_METRICS_PORT: String(await freePort()),
    WORKER_METRICS_PORT: String(await freePort()),
    WORKER_SDK_METRICS_PORT: String(await freePort()),
    PROJECTOR_METRICS_PORT: String(await freePort()),
    RATE_LIMIT_ENABLED: 'false',
    ORDER_DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
    ...options.set,
  };
}

/** The newest child of this process with that executable name: the dev server the SDK just started. */
export function newestChild(comm: string): number {
  const found = childrenOf(process.pid)
    .filter((c) => c.comm === comm)
    .sort((a, b) => b.startTicks - a.startTicks)[0];
  if (!found) throw new Error(`no child process named ${comm}: cannot measure the dev server`);
  return found.pid;
}
