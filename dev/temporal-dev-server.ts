import { shopflowSearchAttributes } from '../workflows/orders/search-attributes';

/**
 * Dynamic config shared by every dev server shopflow starts (`npm start`, tests, benchmarks):
 * - one task-queue partition instead of the default four: on a small machine four partitions
 *   cost throughput and tail latency (see docs/development.md, "Notes");
 * - eager activity execution (off by default in server 1.29): an activity the workflow task
 *   schedules comes back in the task's completion response to the worker that has a free slot,
 *   instead of through a poll and the matching service. Measured on the order path
 *   (bench:platform, c=8): the dev server's CPU per order 74 → 62 ms, submit p99 after warm-up
 *   103 → 90 ms. docker-compose's server gets it from ops/temporal/dynamic-config.yaml.
 */
export const devServerDynamicConfigArgs = [
  '--dynamic-config-value',
  'matching.numTaskqueueReadPartitions=1',
  '--dynamic-config-value',
  'matching.numTaskqueueWritePartitions=1',
  '--dynamic-config-value',
  'system.enableActivityEagerExecution=true',
];

/** `--search-attribute Name=Type` for each custom attribute, as `temporal server start-dev` takes them. */
export function searchAttributeArgs(): string[] {
  return shopflowSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=${cliType(key.type)}`]);
}

function cliType(type: string): string {
  const names: Record<string, string> = {
    KEYWORD: 'Keyword',
    KEYWORD_LIST: 'KeywordList',
    INT: 'Int',
    TEXT: 'Text',
    BOOL: 'Bool',
    DOUBLE: 'Double',
    DATETIME: 'Datetime',
  };
  const name = names[type];
  if (!name) throw new Error(`no CLI name for search attribute type ${type}`);
  return name;
}

export interface DevServerOptions {
  ip: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** A SQLite file keeps workflows across restarts; undefined runs in memory. */
  dbFilename?: string;
  /** The remote codec the Web UI decodes payloads with (platform/codec-server.ts). */
  codecEndpoint?: string;
}

export function devServerArgs(options: DevServerOptions): string[] {
  const args = [
    'server',
    'start-dev',
    '--ip',
    options.ip,
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    ...devServerDynamicConfigArgs,
    ...searchAttributeArgs(),
  ];
  if (options.codecEndpoint) args.push('--ui-codec-endpoint', options.codecEndpoint);
  if (options.dbFilename) {
    // The default SQLite journal caps the server near 30 workflows/s here; WAL without fsync
    // reaches about 70. It is a development server: durability of the last writes is not needed.
    args.push(
      '--db-filename',
      options.dbFilename,
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=off',
    );
  }
  return args;
}
