import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../platform/config';
import { hasWorkflowPollers } from '../../platform/temporal';
import type { LongRunning } from '../../test/support/processes';
import { startWith, stopProcess, type Runtime } from './entry-runtime';

/**
 * shopflow's processes as `npm start` runs them (scripts/start.ts), each in its own process:
 * codec server, worker, outbox relay, projector and API. Started in that order, stopped in the
 * reverse, so that no request reaches a stopped worker.
 */

export const services = ['codec_server', 'worker', 'relay', 'projector', 'api'] as const;
export type Service = (typeof services)[number];

const entries: Record<Service, string> = {
  codec_server: 'scripts/codec-server.ts',
  worker: 'worker/main.ts',
  relay: 'scripts/relay.ts',
  projector: 'scripts/projector.ts',
  api: 'api/server.ts',
};

export interface RunningPlatform {
  apiUrl: string;
  processes: Record<Service, LongRunning>;
  pids(): Record<Service, number>;
  /** Each process's output so far, for a failed run's diagnosis. */
  outputs(): Record<Service, string>;
  stop(): Promise<void>;
}

/**
 * Starts the five processes with `env` (the complete shopflow configuration: DATABASE_URL, ports,
 * keys) and resolves once each is ready: the codec server and the API answer their health
 * routes, the worker polls its task queue, the relay wrote its heartbeat (DATA_DIR). The
 * projector has no probe of its own: the caller waits for the read models to catch up.
 */
export async function startPlatform(
  runtime: Runtime,
  env: Record<string, string>,
  /** Extra arguments for each node process, e.g. --cpu-prof to see where a service's time goes. */
  nodeArgs: readonly string[] = [],
): Promise<RunningPlatform> {
  const config = loadConfig({ ...process.env, ...env });
  const processes = {} as Record<Service, LongRunning>;
  const stop = async () => {
    for (const service of [...services].reverse()) if (processes[service]) await stopProcess(processes[service]);
  };
  const apiUrl = `http://127.0.0.1:${config.http.port}`;
  const ready: Record<Service, () => Promise<boolean>> = {
    codec_server: () => answers(`http://127.0.0.1:${config.codecServer.port}/health`),
    worker: () => hasWorkflowPollers(config),
    relay: () => Promise.resolve(existsSync(path.resolve(config.dataDir, 'relay.heartbeat'))),
    projector: () => Promise.resolve(true),
    api: () => answers(`${apiUrl}/health/live`),
  };
  try {
    for (const service of services) {
      // PGAPPNAME names each process's connections in pg_stat_activity (and in the server log's %a).
      processes[service] = startWith(runtime, entries[service], { PGAPPNAME: `shopflow-${service}`, ...env }, nodeArgs);
      // The worker (under tsx) bundles the workflows with webpack first: the slowest to be ready.
      await waitUntil(service, processes[service], ready[service], 180_000);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const each = <T>(f: (p: LongRunning) => T) =>
    Object.fromEntries(services.map((s) => [s, f(processes[s])])) as Record<Service, T>;
  return {
    apiUrl,
    processes,
    pids: () => each((p) => p.child.pid!),
    outputs: () => each((p) => p.output()),
    stop,
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

async function waitUntil(
  service: Service,
  running: LongRunning,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (running.child.exitCode !== null || running.child.signalCode !== null)
      throw new Error(`${service} exited while starting:\n${running.output()}`);
    if (Date.now() > deadline)
      throw new Error(`${service} was not ready within ${timeoutMs / 1000} s:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
