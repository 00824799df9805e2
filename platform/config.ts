import { z } from 'zod';

/**
 * Every setting of shopflow, read from the environment once at start-up and passed down.
 * Nothing else reads `process.env`: a process with bad settings stops before it touches anything.
 * `.env.example` lists each variable with its default; keep the two in step (a unit test checks).
 */

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(1, 'must be between 1 and 65535')
  .max(65535, 'must be between 1 and 65535');

const positiveMs = z.coerce
  .number({ error: 'must be a number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .positive('must be greater than 0');

/** A URL with one of the given schemes. The value is never echoed: it may carry a password. */
function serviceUrl(schemes: string[]) {
  const expected = schemes.map((s) => `${s}://`).join(' or ');
  return z.string().refine(
    (value) => {
      try {
        const url = new URL(value);
        return schemes.includes(url.protocol.replace(/:$/, '')) && url.hostname !== '';
      } catch {
        return false;
      }
    },
    { message: `must be a ${expected} URL with a host` },
  );
}

const nonNegativeMs = z.coerce
  .number({ error: 'must be a number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .min(0, 'must be 0 or more');

function countBetween(min: number, max: number) {
  return z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be between ${min} and ${max}`)
    .max(max, `must be between ${min} and ${max}`);
}

const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233');

/**
 * The development payload key: public (it is in this file), so it encrypts nothing worth hiding.
 * It lets `npm start` and the tests work out of the box; production refuses it (see loadConfig).
 */
const developmentPayloadKey = 'ATFCIo7zQ+U12Fj/o9/KKC+AMJfHHzq1npxm/dwi5ps=';
const payloadKeyIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

/** `id:base64,id:base64`: every AES-256 key (32 bytes) a payload in some history may be encrypted with. */
const payloadKeys = z.string().transform((value, ctx) => {
  const keys = new Map<string, Buffer>();
  for (const entry of value.split(',').map((e) => e.trim())) {
    const separator = entry.indexOf(':');
    const id = separator === -1 ? '' : entry.slice(0, separator);
    const material = entry.slice(separator + 1);
    // Key material is never echoed in a message, only the key's id.
    if (!payloadKeyIdPattern.test(id)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be id:base64 entries separated by commas (ids: A-Z a-z 0-9 . _ -)',
      });
    } else if (keys.has(id)) {
      ctx.addIssue({ code: 'custom', message: `names key id "${id}" twice` });
    } else if (!/^[A-Za-z0-9+/]+={0,2}$/.test(material) || Buffer.from(material, 'base64').length !== 32) {
      ctx.addIssue({ code: 'custom', message: `key "${id}" must be exactly 32 bytes, base64-encoded` });
    } else {
      keys.set(id, Buffer.from(material, 'base64'));
    }
  }
  return keys;
});

const originList = z.string().refine(
  (value) =>
    value.split(',').every((origin) => {
      try {
        return new URL(origin.trim()).origin === origin.trim();
      } catch {
        return false;
      }
    }),
  { message: 'must be origins separated by commas, e.g. http://127.0.0.1:8233' },
);

/** A token bucket's capacity: how many requests may come at once. */
const burst = countBetween(1, 1_000_000);

/** A token bucket's refill rate; fractions allowed (0.5 = one request every two seconds). */
const perSecond = z.coerce
  .number({ error: 'must be a number of requests per second' })
  .positive('must be greater than 0')
  .max(1_000_000, 'must be at most 1000000');

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

const booleanFlag = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production'], { error: 'must be development, test or production' }),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    error: 'must be one of trace, debug, info, warn, error, fatal, silent',
  }),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { error: 'must be auto, json or pretty' }),
  HOST: z.string().min(1, 'must not be empty'),
  PORT: port,
  DATABASE_URL: serviceUrl(['postgres', 'postgresql']),
  DATABASE_POOL_SIZE: z.coerce.number({ error: 'must be a number' }).int().min(1, 'must be at least 1').max(200),
  REDIS_URL: serviceUrl(['redis', 'rediss']),
  TEMPORAL_ADDRESS: hostPort,
  TEMPORAL_NAMESPACE: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a Temporal namespace name'),
  TEMPORAL_TASK_QUEUE: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a task queue name'),
  TEMPORAL_UI_PORT: port,
  TEMPORAL_CLI_PATH: z.string().optional(),
  DATA_DIR: z.string().min(1, 'must not be empty'),
  EMBEDDED_POSTGRES: z.enum(['auto', 'never'], { error: 'must be auto or never' }),
  HEALTH_TIMEOUT_MS: positiveMs,
  HEALTH_DEGRADED_MS: positiveMs,
  SHUTDOWN_TIMEOUT_MS: positiveMs,
  PROBE_TIMEOUT_MS: positiveMs,
  TRUST_PROXY: trustedProxies,
  ORDER_MAX_ITEMS: countBetween(1, 1000),
  ORDER_MAX_QUANTITY: countBetween(1, 1_000_000),
  ORDER_DELIVERY_TIMEOUT_MS: positiveMs,
  ORDER_CONTINUE_AS_NEW_EVENTS: countBetween(20, 50_000),
  DEFAULT_COMMISSION_BPS: countBetween(0, 10_000),
  IDEMPOTENCY_KEY_TTL_MS: positiveMs,
  IDEMPOTENCY_LOCK_MS: positiveMs,
  IDEMPOTENCY_SWEEP_INTERVAL_MS: positiveMs,
  PAYMENT_SIM_LATENCY_MS: nonNegativeMs,
  SHIPPING_SIM_LATENCY_MS: nonNegativeMs,
  METRICS_ENABLED: booleanFlag,
  WORKER_METRICS_PORT: port,
  WORKER_SDK_METRICS_PORT: port,
  PAYLOAD_KEYS: payloadKeys,
  PAYLOAD_KEY_ID: z.string().regex(payloadKeyIdPattern, 'must be a key id (A-Z a-z 0-9 . _ -)'),
  CODEC_SERVER_HOST: z.string().min(1, 'must not be empty'),
  CODEC_SERVER_PORT: port,
  CODEC_SERVER_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  CODEC_CORS_ORIGINS: originList,
  SNAPSHOT_EVERY: countBetween(1, 1_000_000),
  RELAY_BATCH_SIZE: countBetween(1, 10_000),
  RELAY_POLL_INTERVAL_MS: positiveMs,
  RELAY_LINGER_MS: nonNegativeMs,
  RELAY_LISTEN: booleanFlag,
  RELAY_MAX_ATTEMPTS: countBetween(1, 1000),
  RELAY_BACKOFF_BASE_MS: positiveMs,
  OUTBOX_RETENTION_MS: positiveMs,
  STREAM_MAXLEN: countBetween(1, 1_000_000_000),
  CACHE_ORDER_TTL_MS: positiveMs,
  CACHE_ORDER_LIST_TTL_MS: positiveMs,
  CACHE_SEARCH_TTL_MS: positiveMs,
  CACHE_DASHBOARD_TTL_MS: positiveMs,
  READ_YOUR_WRITES_WAIT_MS: nonNegativeMs,
  PROJECTION_LAG_DEGRADED_EVENTS: countBetween(1, 1_000_000_000),
  PROJECTION_LAG_DEGRADED_MS: positiveMs,
  PROJECTION_REBUILD_BATCH_SIZE: countBetween(1, 100_000),
  PROJECTOR_METRICS_PORT: port,
  PROJECTOR_LINGER_MS: nonNegativeMs,
  DASHBOARD_RECALC_INTERVAL_MS: positiveMs,
  API_KEY_CACHE_TTL_MS: nonNegativeMs,
  RATE_LIMIT_ENABLED: booleanFlag,
  RATE_LIMIT_FAIL_MODE: z.enum(['open', 'closed'], { error: 'must be open or closed' }),
  RATE_LIMIT_REDIS_TIMEOUT_MS: positiveMs,
  RATE_LIMIT_READ_BURST: burst,
  RATE_LIMIT_READ_PER_S: perSecond,
  RATE_LIMIT_READ_IP_BURST: burst,
  RATE_LIMIT_READ_IP_PER_S: perSecond,
  RATE_LIMIT_WRITE_BURST: burst,
  RATE_LIMIT_WRITE_PER_S: perSecond,
  RATE_LIMIT_WRITE_IP_BURST: burst,
  RATE_LIMIT_WRITE_IP_PER_S: perSecond,
  RATE_LIMIT_ORDER_WRITE_BURST: burst,
  RATE_LIMIT_ORDER_WRITE_PER_S: perSecond,
  RATE_LIMIT_ORDER_WRITE_IP_BURST: burst,
  RATE_LIMIT_ORDER_WRITE_IP_PER_S: perSecond,
});

/** Defaults for local development; production deployments set every value explicitly. */
export const configDefaults = {
  NODE_ENV: 'development',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'auto',
  HOST: '0.0.0.0',
  PORT: '3000',
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/shopflow',
  DATABASE_POOL_SIZE: '10',
  REDIS_URL: 'redis://127.0.0.1:6379',
  TEMPORAL_ADDRESS: '127.0.0.1:7233',
  TEMPORAL_NAMESPACE: 'default',
  TEMPORAL_TASK_QUEUE: 'shopflow-orders',
  TEMPORAL_UI_PORT: '8233',
  TEMPORAL_CLI_PATH: undefined,
  DATA_DIR: '.data',
  EMBEDDED_POSTGRES: 'auto',
  HEALTH_TIMEOUT_MS: '2000',
  HEALTH_DEGRADED_MS: '500',
  SHUTDOWN_TIMEOUT_MS: '15000',
  PROBE_TIMEOUT_MS: '30000',
  TRUST_PROXY: 'false',
  ORDER_MAX_ITEMS: '50',
  ORDER_MAX_QUANTITY: '1000',
  ORDER_DELIVERY_TIMEOUT_MS: '1209600000',
  ORDER_CONTINUE_AS_NEW_EVENTS: '5000',
  DEFAULT_COMMISSION_BPS: '1000',
  IDEMPOTENCY_KEY_TTL_MS: '86400000',
  IDEMPOTENCY_LOCK_MS: '30000',
  IDEMPOTENCY_SWEEP_INTERVAL_MS: '600000',
  PAYMENT_SIM_LATENCY_MS: '0',
  SHIPPING_SIM_LATENCY_MS: '0',
  METRICS_ENABLED: 'true',
  WORKER_METRICS_PORT: '9464',
  WORKER_SDK_METRICS_PORT: '9465',
  PAYLOAD_KEYS: `dev:${developmentPayloadKey}`,
  PAYLOAD_KEY_ID: 'dev',
  CODEC_SERVER_HOST: '127.0.0.1',
  CODEC_SERVER_PORT: '8234',
  CODEC_SERVER_TOKEN: undefined,
  CODEC_CORS_ORIGINS: 'http://127.0.0.1:8233,http://localhost:8233',
  SNAPSHOT_EVERY: '100',
  RELAY_BATCH_SIZE: '500',
  RELAY_POLL_INTERVAL_MS: '1000',
  RELAY_LINGER_MS: '20',
  RELAY_LISTEN: 'true',
  RELAY_MAX_ATTEMPTS: '10',
  RELAY_BACKOFF_BASE_MS: '200',
  OUTBOX_RETENTION_MS: '604800000',
  STREAM_MAXLEN: '100000',
  CACHE_ORDER_TTL_MS: '60000',
  CACHE_ORDER_LIST_TTL_MS: '30000',
  CACHE_SEARCH_TTL_MS: '30000',
  CACHE_DASHBOARD_TTL_MS: '60000',
  READ_YOUR_WRITES_WAIT_MS: '2000',
  PROJECTION_LAG_DEGRADED_EVENTS: '1000',
  PROJECTION_LAG_DEGRADED_MS: '30000',
  PROJECTION_REBUILD_BATCH_SIZE: '2000',
  PROJECTOR_METRICS_PORT: '9466',
  PROJECTOR_LINGER_MS: '50',
  DASHBOARD_RECALC_INTERVAL_MS: '3600000',
  API_KEY_CACHE_TTL_MS: '10000',
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_FAIL_MODE: 'open',
  RATE_LIMIT_REDIS_TIMEOUT_MS: '200',
  RATE_LIMIT_READ_BURST: '100',
  RATE_LIMIT_READ_PER_S: '20',
  RATE_LIMIT_READ_IP_BURST: '500',
  RATE_LIMIT_READ_IP_PER_S: '100',
  RATE_LIMIT_WRITE_BURST: '30',
  RATE_LIMIT_WRITE_PER_S: '5',
  RATE_LIMIT_WRITE_IP_BURST: '150',
  RATE_LIMIT_WRITE_IP_PER_S: '25',
  RATE_LIMIT_ORDER_WRITE_BURST: '10',
  RATE_LIMIT_ORDER_WRITE_PER_S: '1',
  RATE_LIMIT_ORDER_WRITE_IP_BURST: '50',
  RATE_LIMIT_ORDER_WRITE_IP_PER_S: '5',
} as const satisfies Record<keyof z.input<typeof schema>, string | undefined>;

export type ConfigVariable = keyof typeof configDefaults;

type Env = z.output<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  log: { level: Env['LOG_LEVEL']; format: Env['LOG_FORMAT'] };
  http: { host: string; port: number; trustProxy: false | number | string[] };
  database: { url: string; poolSize: number };
  redis: { url: string };
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    uiPort: number;
    cliPath: string | undefined;
  };
  dataDir: string;
  embeddedPostgres: Env['EMBEDDED_POSTGRES'];
  health: { timeoutMs: number; degradedMs: number };
  shutdownTimeoutMs: number;
  probeTimeoutMs: number;
  orders: {
    maxItems: number;
    maxQuantity: number;
    deliveryTimeoutMs: number;
    continueAsNewAfterEvents: number;
    defaultCommissionBps: number;
  };
  idempotency: { ttlMs: number; lockMs: number; sweepIntervalMs: number };
  /** Delays the simulated payment provider and carrier add, to make races visible in tests and benches. */
  simulators: { paymentLatencyMs: number; shippingLatencyMs: number };
  /**
   * Prometheus metrics: the API's `/metrics`, the worker's metrics server (`workerPort`, on HOST),
   * and the Temporal SDK's exporter, bound to loopback on `sdkPort` and served through the worker's.
   */
  metrics: { enabled: boolean; workerPort: number; sdkPort: number };
  /** AES-256-GCM keys of the payload codec (platform/payload-codec.ts): all decrypt, the current one encrypts. */
  payloads: { keys: ReadonlyMap<string, Buffer>; currentKeyId: string };
  /** The codec server the Web UI decrypts payloads through; `token` is the operator credential. */
  codecServer: { host: string; port: number; token: string | undefined; corsOrigins: string[] };
  /** The domain event store (events/event-store.ts): an aggregate's state is saved every `snapshotEvery` events. */
  events: { snapshotEvery: number };
  /**
   * The outbox relay (scripts/relay.ts): batch size, polling fallback behind LISTEN/NOTIFY,
   * exponential backoff of failed publishes, retention of published rows, approximate stream trimming.
   */
  relay: {
    batchSize: number;
    pollIntervalMs: number;
    /** How long a NOTIFY that woke the relay waits for more commits to claim at once. */
    lingerMs: number;
    listen: boolean;
    maxAttempts: number;
    backoffBaseMs: number;
    retentionMs: number;
    streamMaxLen: number;
  };
  /** The API's read cache (read-models/cache.ts): time to live per kind of read. */
  cache: { ttlMs: Record<CacheKind, number> };
  /**
   * Read models (read-models/projections): how long a read naming a position waits for it, the lag past
   * which readiness is DEGRADED, rebuild batch size, and the projector process's metrics port.
   */
  projections: {
    readYourWritesWaitMs: number;
    lagDegradedEvents: number;
    lagDegradedMs: number;
    rebuildBatchSize: number;
    metricsPort: number;
    /** How long the projector waits for more stream entries when they trickle in (fewer, larger transactions). */
    lingerMs: number;
  };
  /** The seller dashboards' scheduled full recalculation (a Temporal Schedule). */
  dashboard: { recalcIntervalMs: number };
  /** API keys (access/api-keys.ts): how long an API process trusts its last answer for a key (so a revocation takes this long). */
  apiKeys: { cacheTtlMs: number };
  /**
   * The API's token buckets (access/rate-limit.ts), per route class and per scope (the caller's
   * principal, the client IP); what happens while Redis cannot answer within `redisTimeoutMs`.
   */
  rateLimit: {
    enabled: boolean;
    failMode: 'open' | 'closed';
    redisTimeoutMs: number;
    limits: Record<RateLimitClass, Record<RateLimitScope, BucketLimit>>;
  };
}

/** Route classes of the rate limiter, each with its own buckets (api/access/rate-limit.ts classifies). */
export type RateLimitClass = 'read' | 'write' | 'orderWrite';
/** Who a bucket counts: the caller's principal (its API key's owner) or the client IP. */
export type RateLimitScope = 'key' | 'ip';
/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface BucketLimit {
  burst: number;
  perSecond: number;
}

/** The kinds of read the cache keeps, each with its own TTL. */
export type CacheKind = 'order' | 'orderList' | 'search' | 'dashboard';

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment into a typed config; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string | undefined> = {};
  for (const [name, fallback] of Object.entries(configDefaults)) {
    const value = env[name];
    // An empty variable means "not set", as in docker compose files with `VAR=`.
    raw[name] = value === undefined || value === '' ? fallback : value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0]), message: issue.message })),
    );
  }
  const e = parsed.data;
  const crossProblems: { variable: string; message: string }[] = [];
  if (!e.PAYLOAD_KEYS.has(e.PAYLOAD_KEY_ID)) {
    crossProblems.push({ variable: 'PAYLOAD_KEY_ID', message: `must name one of the keys in PAYLOAD_KEYS` });
  }
  const developmentKey = Buffer.from(developmentPayloadKey, 'base64');
  if (e.NODE_ENV === 'production' && [...e.PAYLOAD_KEYS.values()].some((key) => key.equals(developmentKey))) {
    crossProblems.push({
      variable: 'PAYLOAD_KEYS',
      message: 'holds the public development key, which production refuses: set your own keys',
    });
  }
  if (crossProblems.length > 0) throw new ConfigError(crossProblems);
  return {
    env: e.NODE_ENV,
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT },
    http: { host: e.HOST, port: e.PORT, trustProxy: e.TRUST_PROXY },
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE },
    redis: { url: e.REDIS_URL },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiPort: e.TEMPORAL_UI_PORT,
      cliPath: e.TEMPORAL_CLI_PATH,
    },
    dataDir: e.DATA_DIR,
    embeddedPostgres: e.EMBEDDED_POSTGRES,
    health: { timeoutMs: e.HEALTH_TIMEOUT_MS, degradedMs: e.HEALTH_DEGRADED_MS },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    probeTimeoutMs: e.PROBE_TIMEOUT_MS,
    orders: {
      maxItems: e.ORDER_MAX_ITEMS,
      maxQuantity: e.ORDER_MAX_QUANTITY,
      deliveryTimeoutMs: e.ORDER_DELIVERY_TIMEOUT_MS,
      continueAsNewAfterEvents: e.ORDER_CONTINUE_AS_NEW_EVENTS,
      defaultCommissionBps: e.DEFAULT_COMMISSION_BPS,
    },
    idempotency: {
      ttlMs: e.IDEMPOTENCY_KEY_TTL_MS,
      lockMs: e.IDEMPOTENCY_LOCK_MS,
      sweepIntervalMs: e.IDEMPOTENCY_SWEEP_INTERVAL_MS,
    },
    simulators: { paymentLatencyMs: e.PAYMENT_SIM_LATENCY_MS, shippingLatencyMs: e.SHIPPING_SIM_LATENCY_MS },
    metrics: { enabled: e.METRICS_ENABLED, workerPort: e.WORKER_METRICS_PORT, sdkPort: e.WORKER_SDK_METRICS_PORT },
    payloads: { keys: e.PAYLOAD_KEYS, currentKeyId: e.PAYLOAD_KEY_ID },
    codecServer: {
      host: e.CODEC_SERVER_HOST,
      port: e.CODEC_SERVER_PORT,
      token: e.CODEC_SERVER_TOKEN,
      corsOrigins: e.CODEC_CORS_ORIGINS.split(',').map((origin) => origin.trim()),
    },
    events: { snapshotEvery: e.SNAPSHOT_EVERY },
    relay: {
      batchSize: e.RELAY_BATCH_SIZE,
      pollIntervalMs: e.RELAY_POLL_INTERVAL_MS,
      lingerMs: e.RELAY_LINGER_MS,
      listen: e.RELAY_LISTEN,
      maxAttempts: e.RELAY_MAX_ATTEMPTS,
      backoffBaseMs: e.RELAY_BACKOFF_BASE_MS,
      retentionMs: e.OUTBOX_RETENTION_MS,
      streamMaxLen: e.STREAM_MAXLEN,
    },
    cache: {
      ttlMs: {
        order: e.CACHE_ORDER_TTL_MS,
        orderList: e.CACHE_ORDER_LIST_TTL_MS,
        search: e.CACHE_SEARCH_TTL_MS,
        dashboard: e.CACHE_DASHBOARD_TTL_MS,
      },
    },
    projections: {
      readYourWritesWaitMs: e.READ_YOUR_WRITES_WAIT_MS,
      lagDegradedEvents: e.PROJECTION_LAG_DEGRADED_EVENTS,
      lagDegradedMs: e.PROJECTION_LAG_DEGRADED_MS,
      rebuildBatchSize: e.PROJECTION_REBUILD_BATCH_SIZE,
      metricsPort: e.PROJECTOR_METRICS_PORT,
      lingerMs: e.PROJECTOR_LINGER_MS,
    },
    dashboard: { recalcIntervalMs: e.DASHBOARD_RECALC_INTERVAL_MS },
    apiKeys: { cacheTtlMs: e.API_KEY_CACHE_TTL_MS },
    rateLimit: {
      enabled: e.RATE_LIMIT_ENABLED,
      failMode: e.RATE_LIMIT_FAIL_MODE,
      redisTimeoutMs: e.RATE_LIMIT_REDIS_TIMEOUT_MS,
      limits: {
        read: {
          key: { burst: e.RATE_LIMIT_READ_BURST, perSecond: e.RATE_LIMIT_READ_PER_S },
          ip: { burst: e.RATE_LIMIT_READ_IP_BURST, perSecond: e.RATE_LIMIT_READ_IP_PER_S },
        },
        write: {
          key: { burst: e.RATE_LIMIT_WRITE_BURST, perSecond: e.RATE_LIMIT_WRITE_PER_S },
          ip: { burst: e.RATE_LIMIT_WRITE_IP_BURST, perSecond: e.RATE_LIMIT_WRITE_IP_PER_S },
        },
        orderWrite: {
          key: { burst: e.RATE_LIMIT_ORDER_WRITE_BURST, perSecond: e.RATE_LIMIT_ORDER_WRITE_PER_S },
          ip: { burst: e.RATE_LIMIT_ORDER_WRITE_IP_BURST, perSecond: e.RATE_LIMIT_ORDER_WRITE_IP_PER_S },
        },
      },
    },
  };
}

/** EX_CONFIG from sysexits.h: the process was started with a bad configuration. */
export const CONFIG_EXIT_CODE = 78;

/**
 * For entry points: the config, or one clear line on stderr and exit code 78.
 * Entry points call this before creating a logger, so the line is plain text.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`shopflow: ${error.message}\n`);
      process.exit(CONFIG_EXIT_CODE);
    }
    throw error;
  }
}
