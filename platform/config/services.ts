import { z } from 'zod';
import { booleanFlag, hostPort, hostPortList, nonEmpty, nonNegativeMs, port, serviceUrl } from './values';
import { area, variable } from './variable';

/**
 * Which proxies' X-Forwarded-For to believe for the client IP (rate limits key on it): `false`,
 * a number of proxy hops, or addresses and subnets (express' `trust proxy`). Not `true`: that
 * believes the left-most address, which any client can write.
 */
const trustedProxies = z.string().transform((value, ctx): false | number | string[] => {
  const trimmed = value.trim();
  if (trimmed === 'false' || trimmed === '0') return false;
  if (/^\d{1,2}$/.test(trimmed)) return Number(trimmed);
  const entries = trimmed.split(',').map((entry) => entry.trim());
  const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
  const address = /^[0-9a-fA-F.:]+(\/\d{1,3})?$/;
  if (trimmed !== 'true' && entries.every((entry) => named.has(entry) || address.test(entry))) return entries;
  ctx.addIssue({
    code: 'custom',
    message:
      'must be false, a number of proxy hops (e.g. 1), or trusted proxy addresses/subnets (e.g. loopback,10.0.0.0/8); ' +
      'true is refused: it would believe any client-written X-Forwarded-For',
  });
  return z.NEVER;
});

export const http = area(
  { title: 'HTTP API' },
  {
    host: variable('HOST', nonEmpty, { default: '0.0.0.0', description: "the API's listening address" }),
    port: variable('PORT', port, { default: '3000', description: "the API's port" }),
    trustProxy: variable('TRUST_PROXY', trustedProxies, {
      default: 'false',
      description:
        "which proxies' `X-Forwarded-For` gives the client IP (rate limits key on it): `false`, a hop count, " +
        'or addresses/subnets (`loopback,10.0.0.0/8`); `true` is refused (any client could write it)',
    }),
  },
);

export const database = area(
  { title: 'PostgreSQL' },
  {
    url: variable('DATABASE_URL', serviceUrl(['postgres', 'postgresql']), {
      default: 'postgresql://postgres@127.0.0.1:5432/shopflow',
      description: 'the database; it is created if missing',
      secret: true,
    }),
    poolSize: variable(
      'DATABASE_POOL_SIZE',
      z.coerce.number({ error: 'must be a number' }).int().min(1, 'must be at least 1').max(200),
      { default: '10', description: 'connections per process' },
    ),
  },
);

export const redis = area(
  { title: 'Redis' },
  {
    url: variable('REDIS_URL', serviceUrl(['redis', 'rediss']), {
      default: 'redis://127.0.0.1:6379',
      description:
        'Redis: streams, the read cache, rate limits, the simulated providers; with `REDIS_CLUSTER_NODES`, only its ' +
        'user and password are used (for every node)',
      secret: true,
    }),
    clusterNodes: variable('REDIS_CLUSTER_NODES', hostPortList, {
      description:
        'a Redis Cluster instead of `REDIS_URL`: some of its nodes as `host:port,host:port` (the client finds the ' +
        'rest); every Redis use goes to the cluster (docs/redis-cluster.md)',
    }),
  },
);

export const temporal = area(
  { title: 'Temporal' },
  {
    address: variable('TEMPORAL_ADDRESS', hostPort, {
      default: '127.0.0.1:7233',
      description: 'the Temporal frontend (`npm start` runs a dev server here if none answers)',
    }),
    namespace: variable(
      'TEMPORAL_NAMESPACE',
      z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a Temporal namespace name'),
      { default: 'default', description: 'the Temporal namespace' },
    ),
    taskQueue: variable('TEMPORAL_TASK_QUEUE', z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a task queue name'), {
      default: 'shopflow-orders',
      description: "the worker's task queue",
    }),
    uiPort: variable('TEMPORAL_UI_PORT', port, {
      default: '8233',
      description: 'Web UI port of the dev server that `npm start` runs',
    }),
    cliPath: variable('TEMPORAL_CLI_PATH', z.string(), {
      description: 'an installed Temporal CLI; empty: `temporal` on PATH, then the pinned build in ~/.cache/shopflow',
    }),
    workflowDeadlockTimeoutMs: variable('WORKFLOW_DEADLOCK_TIMEOUT_MS', nonNegativeMs, {
      default: '0',
      description:
        "the worker's deadlock check: how long one call into a workflow may run before its task fails; " +
        '0: no check (it costs a thread started and joined per call, several per workflow task; docs/development.md, Notes)',
    }),
    workflowStackTraces: variable('WORKFLOW_STACK_TRACES', booleanFlag, {
      default: 'false',
      description:
        "whether workflows record the stack traces of the Web UI's Stack Trace tab (`__stack_trace` query); " +
        'recording takes a stack trace per promise a workflow creates (docs/development.md, Notes)',
    }),
  },
);
