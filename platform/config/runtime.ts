import { z } from 'zod';
import { booleanFlag, nonEmpty, port, positiveMs } from './values';
import { area, variable } from './variable';

/** Settings of every process; they sit at the top of `Config` (`config.env`, `config.dataDir`, …). */
export const runtime = area(
  {
    title: 'Process',
    intro:
      'Every process: the environment it runs in, how long it may take to stop, where `npm start` keeps local state.',
  },
  {
    env: variable(
      'NODE_ENV',
      z.enum(['development', 'test', 'production'], { error: 'must be development, test or production' }),
      {
        default: 'development',
        description: '`development`, `test` or `production` (which refuses the public development payload key)',
      },
    ),
    shutdownTimeoutMs: variable('SHUTDOWN_TIMEOUT_MS', positiveMs, {
      default: '15000',
      description: 'how long a process may drain on SIGTERM before it is forced',
    }),
    probeTimeoutMs: variable('PROBE_TIMEOUT_MS', positiveMs, {
      default: '30000',
      description: 'run timeout of the platform probe workflow that `POST /v1/probes` starts',
    }),
    dataDir: variable('DATA_DIR', nonEmpty, {
      default: '.data',
      description:
        "where `npm start` keeps the dev server's SQLite file, its log and the embedded PostgreSQL (git-ignored)",
    }),
    embeddedPostgres: variable('EMBEDDED_POSTGRES', z.enum(['auto', 'never'], { error: 'must be auto or never' }), {
      default: 'auto',
      description: '`auto`: `npm start` runs an embedded PostgreSQL when none answers locally; `never`',
    }),
  },
);

export const log = area(
  { title: 'Logging' },
  {
    level: variable(
      'LOG_LEVEL',
      z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
        error: 'must be one of trace, debug, info, warn, error, fatal, silent',
      }),
      { default: 'info', description: '`trace`, `debug`, `info`, `warn`, `error`, `fatal`, or `silent`' },
    ),
    format: variable('LOG_FORMAT', z.enum(['auto', 'json', 'pretty'], { error: 'must be auto, json or pretty' }), {
      default: 'auto',
      description: '`json`, `pretty`, or `auto` (pretty in a terminal, JSON otherwise)',
    }),
  },
);

export const health = area(
  { title: 'Health checks', intro: 'How `/health/ready` and the processes judge their dependencies.' },
  {
    timeoutMs: variable('HEALTH_TIMEOUT_MS', positiveMs, {
      default: '2000',
      description: 'a dependency silent this long is `DOWN`',
    }),
    degradedMs: variable('HEALTH_DEGRADED_MS', positiveMs, {
      default: '500',
      description: 'a dependency slower than this is `DEGRADED`',
    }),
  },
);

export const metrics = area(
  {
    title: 'Metrics',
    intro:
      "Prometheus metrics: the API's and the worker's metrics servers (on `HOST`, each on a port of its own, apart " +
      "from the public API port), and the Temporal SDK's exporter, bound to loopback and served through the worker's.",
  },
  {
    enabled: variable('METRICS_ENABLED', booleanFlag, {
      default: 'true',
      description: "run the API's and the worker's metrics servers",
    }),
    apiPort: variable('API_METRICS_PORT', port, {
      default: '9463',
      description: "the API's `/metrics` (on `HOST`): a port of its own, so that the public API port serves no metrics",
    }),
    workerPort: variable('WORKER_METRICS_PORT', port, {
      default: '9464',
      description: "the worker's `/metrics` (on `HOST`): its metrics and the SDK's",
    }),
    sdkPort: variable('WORKER_SDK_METRICS_PORT', port, {
      default: '9465',
      description: "the Temporal SDK's exporter, on 127.0.0.1, served through the worker's `/metrics`",
    }),
  },
);
