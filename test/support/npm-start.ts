import { readdirSync, readFileSync } from 'node:fs';
import { freePort, isAlive, startEntry, type LongRunning } from './processes';

export { isListening } from '../../dev/port-holder';

/** `npm start` (scripts/start.ts) in tests: on ports of its own, and what it logs about its children. */

export interface StartPorts {
  api: number;
  temporal: number;
  temporalUi: number;
  postgres: number;
  workerMetrics: number;
  sdkMetrics: number;
  codec: number;
  projectorMetrics: number;
  apiMetrics: number;
}

export async function freeStartPorts(): Promise<StartPorts> {
  const [api, temporal, temporalUi, postgres, workerMetrics, sdkMetrics, codec, projectorMetrics, apiMetrics] =
    await Promise.all(Array.from({ length: 9 }, () => freePort()));
  return {
    api,
    temporal,
    temporalUi,
    postgres,
    workerMetrics,
    sdkMetrics,
    codec,
    projectorMetrics,
    apiMetrics,
  } as StartPorts;
}

/** The settings that put a run on `ports`, with its data (SQLite, embedded PostgreSQL) in `dataDir`. */
export function startSettings(ports: StartPorts, dataDir: string, taskQueue: string): Record<string, string> {
  return {
    PORT: String(ports.api),
    HOST: '127.0.0.1',
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_PORT: String(ports.temporalUi),
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATABASE_URL: `postgresql://postgres@127.0.0.1:${ports.postgres}/shopflow`,
    DATA_DIR: dataDir,
    WORKER_METRICS_PORT: String(ports.workerMetrics),
    WORKER_SDK_METRICS_PORT: String(ports.sdkMetrics),
    CODEC_SERVER_HOST: '127.0.0.1',
    CODEC_SERVER_PORT: String(ports.codec),
    PROJECTOR_METRICS_PORT: String(ports.projectorMetrics),
    API_METRICS_PORT: String(ports.apiMetrics),
  };
}

export function startPlatform(settings: Record<string, string>): LongRunning {
  return startEntry('scripts/start.ts', settings);
}

/** The JSON lines of a run's output (its own and its children's logs). */
export function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** The shopflow processes a run started, by logger name, each with every pid that logged under it. */
export const childLoggers = {
  api: 'shopflow-api',
  worker: 'shopflow-worker',
  relay: 'shopflow-relay',
  projector: 'shopflow-projector',
  codecServer: 'shopflow-codec-server',
} as const;

export function pidsLoggedAs(output: string, logger: string): number[] {
  return [...new Set(logLines(output).flatMap((line) => (line['name'] === logger ? [Number(line['pid'])] : [])))];
}

/** The one process logging under `logger` that is alive now. */
export function livePidOf(output: string, logger: string): number {
  const live = pidsLoggedAs(output, logger).filter(isAlive);
  if (live.length !== 1) throw new Error(`expected one live ${logger}, found ${live.length}:\n${output}`);
  return live[0]!;
}

/** Polls `check` until it is true; returns how long that took. */
export async function within(timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const startedAt = Date.now();
  for (;;) {
    if (await check()) return Date.now() - startedAt;
    if (Date.now() - startedAt > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every live process below `pid` (children, theirs, …), from /proc. */
export function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (let level = [pid]; level.length > 0;) {
    level = [...parents].filter(([, parent]) => level.includes(parent)).map(([child]) => child);
    found.push(...level);
  }
  return found.filter(isAlive);
}
