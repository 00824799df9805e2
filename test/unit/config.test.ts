import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configDefaults, loadConfig } from '../../platform/config';
import { configReference, generatedFiles } from '../../platform/config/reference';
import { configProblems } from '../support/config-problems';

const problemsOf = configProblems;
const repoRoot = path.resolve(__dirname, '../..');

describe('config', () => {
  it('gives the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.database.url).toBe(configDefaults.DATABASE_URL);
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.embeddedPostgres).toBe('auto');
  });

  it('treats an empty variable as unset, as compose files write `VAR=`', () => {
    expect(loadConfig({ PORT: '' }).http.port).toBe(3000);
  });

  it('coerces numbers and flags', () => {
    const config = loadConfig({ PORT: '8080', TRUST_PROXY: '1', DATABASE_POOL_SIZE: '3' });
    expect(config.http).toMatchObject({ port: 8080, trustProxy: 1 });
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).http.trustProxy).toEqual(['loopback', '10.0.0.0/8']);
    expect(loadConfig({ TRUST_PROXY: 'false' }).http.trustProxy).toBe(false);
    expect(config.database.poolSize).toBe(3);
  });

  it.each([
    ['PORT', 'abc', 'PORT must be a port number'],
    ['PORT', '70000', 'PORT must be between 1 and 65535'],
    ['PORT', '80.5', 'PORT must be a whole number'],
    ['DATABASE_URL', 'nonsense', 'DATABASE_URL must be a postgres:// or postgresql:// URL with a host'],
    ['DATABASE_URL', 'mysql://db/x', 'DATABASE_URL must be a postgres:// or postgresql:// URL with a host'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL must be a redis:// or rediss:// URL with a host'],
    ['REDIS_CLUSTER_NODES', '10.0.0.1', 'REDIS_CLUSTER_NODES must be host:port, e.g. 127.0.0.1:7233'],
    ['TEMPORAL_ADDRESS', 'http://x', 'TEMPORAL_ADDRESS must be host:port, e.g. 127.0.0.1:7233'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent'],
    ...['yes', 'true'].map((value) => [
      'TRUST_PROXY',
      value,
      'TRUST_PROXY must be false, a number of proxy hops (e.g. 1), or trusted proxy addresses/subnets (e.g. loopback,10.0.0.0/8); true is refused: it would believe any client-written X-Forwarded-For',
    ]),
    ['HEALTH_TIMEOUT_MS', '-5', 'HEALTH_TIMEOUT_MS must be greater than 0'],
    ['RATE_LIMIT_ORDER_WRITE_IP_PER_S', '0', 'RATE_LIMIT_ORDER_WRITE_IP_PER_S must be greater than 0'],
  ])('%s=%s is refused with "%s"', (variable, value, expected) => {
    expect(problemsOf({ [variable]: value })).toEqual([expected]);
  });

  it('names every bad variable at once', () => {
    expect(problemsOf({ PORT: 'abc', REDIS_URL: 'nope' })).toEqual([
      'PORT must be a port number',
      'REDIS_URL must be a redis:// or rediss:// URL with a host',
    ]);
  });

  it('never echoes a URL value, which may carry a password', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres//user:s3cret@host' });
    expect(problems.join()).not.toContain('s3cret');
  });
});

/** The public development payload key (production refuses it). */
const publicDevelopmentKey = 'ATFCIo7zQ+U12Fj/o9/KKC+AMJfHHzq1npxm/dwi5ps=';
const oldKey = Buffer.alloc(32, 1).toString('base64');
const newKey = Buffer.alloc(32, 2).toString('base64');

/**
 * Every variable as it behaved before the settings were split into one schema per area, frozen:
 * its name, where it lands in Config, what it gives when unset, a value to set it to and what that
 * gives. Changing a row changes what a deployment gets: do it on purpose, never as a side effect.
 */
const frozen: [variable: string, configPath: string, unset: unknown, set: string, parsed: unknown][] = [
  ['NODE_ENV', 'env', 'development', 'production', 'production'],
  ['LOG_LEVEL', 'log.level', 'info', 'debug', 'debug'],
  ['LOG_FORMAT', 'log.format', 'auto', 'json', 'json'],
  ['HOST', 'http.host', '0.0.0.0', '127.0.0.2', '127.0.0.2'],
  ['PORT', 'http.port', 3000, '3001', 3001],
  [
    'DATABASE_URL',
    'database.url',
    'postgresql://postgres@127.0.0.1:5432/shopflow',
    'postgres://app:pw@db.internal:5433/orders',
    'postgres://app:pw@db.internal:5433/orders',
  ],
  ['DATABASE_POOL_SIZE', 'database.poolSize', 10, '20', 20],
  ['SHARD_MAP_MAX_STALENESS_MS', 'shards.mapMaxStalenessMs', 1000, '500', 500],
  ['SHARD_MAP_SAFETY_CHECK_MS', 'shards.mapSafetyCheckMs', 30000, '60000', 60000],
  ['SHARD_MAP_LISTEN', 'shards.mapListen', false, 'true', true],
  ['REDIS_URL', 'redis.url', 'redis://127.0.0.1:6379', 'rediss://cache.internal:6380', 'rediss://cache.internal:6380'],
  [
    'REDIS_CLUSTER_NODES',
    'redis.clusterNodes',
    undefined,
    '10.0.0.1:7000, 10.0.0.2:7000',
    ['10.0.0.1:7000', '10.0.0.2:7000'],
  ],
  ['TEMPORAL_ADDRESS', 'temporal.address', '127.0.0.1:7233', 'temporal.internal:7234', 'temporal.internal:7234'],
  ['TEMPORAL_NAMESPACE', 'temporal.namespace', 'default', 'shop', 'shop'],
  ['TEMPORAL_TASK_QUEUE', 'temporal.taskQueue', 'shopflow-orders', 'orders-2', 'orders-2'],
  ['TEMPORAL_UI_PORT', 'temporal.uiPort', 8233, '8243', 8243],
  ['TEMPORAL_CLI_PATH', 'temporal.cliPath', undefined, '/opt/temporal/bin/temporal', '/opt/temporal/bin/temporal'],
  ['WORKFLOW_DEADLOCK_TIMEOUT_MS', 'temporal.workflowDeadlockTimeoutMs', 0, '5000', 5000],
  ['WORKFLOW_STACK_TRACES', 'temporal.workflowStackTraces', false, 'true', true],
  ['DATA_DIR', 'dataDir', '.data', '/var/lib/shopflow', '/var/lib/shopflow'],
  ['EMBEDDED_POSTGRES', 'embeddedPostgres', 'auto', 'never', 'never'],
  ['HEALTH_TIMEOUT_MS', 'health.timeoutMs', 2000, '3000', 3000],
  ['HEALTH_DEGRADED_MS', 'health.degradedMs', 500, '600', 600],
  ['SHUTDOWN_TIMEOUT_MS', 'shutdownTimeoutMs', 15000, '20000', 20000],
  ['PROBE_TIMEOUT_MS', 'probeTimeoutMs', 30000, '40000', 40000],
  ['TRUST_PROXY', 'http.trustProxy', false, 'loopback, 10.0.0.0/8', ['loopback', '10.0.0.0/8']],
  ['ORDER_MAX_ITEMS', 'orders.maxItems', 50, '60', 60],
  ['ORDER_MAX_QUANTITY', 'orders.maxQuantity', 1000, '2000', 2000],
  ['ORDER_DELIVERY_TIMEOUT_MS', 'orders.deliveryTimeoutMs', 1209600000, '604800000', 604800000],
  ['ORDER_CONTINUE_AS_NEW_EVENTS', 'orders.continueAsNewAfterEvents', 5000, '4000', 4000],
  ['DEFAULT_COMMISSION_BPS', 'orders.defaultCommissionBps', 1000, '1500', 1500],
  ['IDEMPOTENCY_KEY_TTL_MS', 'idempotency.ttlMs', 86400000, '43200000', 43200000],
  ['IDEMPOTENCY_LOCK_MS', 'idempotency.lockMs', 30000, '20000', 20000],
  ['IDEMPOTENCY_SWEEP_INTERVAL_MS', 'idempotency.sweepIntervalMs', 600000, '300000', 300000],
  ['PAYMENT_SIM_LATENCY_MS', 'simulators.paymentLatencyMs', 0, '5', 5],
  ['SHIPPING_SIM_LATENCY_MS', 'simulators.shippingLatencyMs', 0, '7', 7],
  ['METRICS_ENABLED', 'metrics.enabled', true, 'false', false],
  ['API_METRICS_PORT', 'metrics.apiPort', 9463, '9473', 9473],
  ['WORKER_METRICS_PORT', 'metrics.workerPort', 9464, '9474', 9474],
  ['WORKER_SDK_METRICS_PORT', 'metrics.sdkPort', 9465, '9475', 9475],
  [
    'PAYLOAD_KEYS',
    'payloads.keys',
    { dev: publicDevelopmentKey },
    `old:${oldKey}, new:${newKey}`,
    { old: oldKey, new: newKey },
  ],
  ['PAYLOAD_KEY_ID', 'payloads.currentKeyId', 'dev', 'new', 'new'],
  ['CODEC_SERVER_HOST', 'codecServer.host', '127.0.0.1', '0.0.0.0', '0.0.0.0'],
  ['CODEC_SERVER_PORT', 'codecServer.port', 8234, '8244', 8244],
  [
    'CODEC_CORS_ORIGINS',
    'codecServer.corsOrigins',
    ['http://127.0.0.1:8233', 'http://localhost:8233'],
    'https://ui.example.com, http://localhost:8080',
    ['https://ui.example.com', 'http://localhost:8080'],
  ],
  ['SNAPSHOT_EVERY', 'events.snapshotEvery', 100, '50', 50],
  ['RELAY_BATCH_SIZE', 'relay.batchSize', 500, '250', 250],
  ['RELAY_POLL_INTERVAL_MS', 'relay.pollIntervalMs', 1000, '500', 500],
  ['RELAY_CLAIM_INTERVAL_MS', 'relay.claimIntervalMs', 100, '0', 0],
  ['RELAY_LISTEN', 'relay.listen', true, '0', false],
  ['RELAY_MAX_ATTEMPTS', 'relay.maxAttempts', 10, '5', 5],
  ['RELAY_BACKOFF_BASE_MS', 'relay.backoffBaseMs', 200, '100', 100],
  ['OUTBOX_RETENTION_MS', 'relay.retentionMs', 604800000, '86400000', 86400000],
  ['STREAM_MAXLEN', 'relay.streamMaxLen', 100000, '5000', 5000],
  ['CACHE_ORDER_TTL_MS', 'cache.ttlMs.order', 60000, '61000', 61000],
  ['CACHE_ORDER_LIST_TTL_MS', 'cache.ttlMs.orderList', 30000, '31000', 31000],
  ['CACHE_SEARCH_TTL_MS', 'cache.ttlMs.search', 30000, '32000', 32000],
  ['CACHE_DASHBOARD_TTL_MS', 'cache.ttlMs.dashboard', 60000, '62000', 62000],
  ['READ_YOUR_WRITES_WAIT_MS', 'projections.readYourWritesWaitMs', 2000, '1500', 1500],
  ['READ_YOUR_WRITES_MAX_WAIT_MS', 'projections.readYourWritesMaxWaitMs', 30000, '60000', 60000],
  ['PROJECTION_LAG_DEGRADED_EVENTS', 'projections.lagDegradedEvents', 1000, '800', 800],
  ['PROJECTION_LAG_DEGRADED_MS', 'projections.lagDegradedMs', 30000, '20000', 20000],
  ['PROJECTION_REBUILD_BATCH_SIZE', 'projections.rebuildBatchSize', 2000, '1000', 1000],
  ['PROJECTOR_METRICS_PORT', 'projections.metricsPort', 9466, '9476', 9476],
  ['PROJECTOR_LINGER_MS', 'projections.lingerMs', 50, '10', 10],
  ['DASHBOARD_RECALC_INTERVAL_MS', 'dashboard.recalcIntervalMs', 3600000, '1800000', 1800000],
  ['API_KEY_CACHE_TTL_MS', 'apiKeys.cacheTtlMs', 10000, '9000', 9000],
  ['RATE_LIMIT_ENABLED', 'rateLimit.enabled', true, 'false', false],
  ['RATE_LIMIT_FAIL_MODE', 'rateLimit.failMode', 'open', 'closed', 'closed'],
  ['RATE_LIMIT_REDIS_TIMEOUT_MS', 'rateLimit.redisTimeoutMs', 200, '150', 150],
  ['RATE_LIMIT_READ_BURST', 'rateLimit.limits.read.key.burst', 100, '101', 101],
  ['RATE_LIMIT_READ_PER_S', 'rateLimit.limits.read.key.perSecond', 20, '20.5', 20.5],
  ['RATE_LIMIT_READ_IP_BURST', 'rateLimit.limits.read.ip.burst', 500, '501', 501],
  ['RATE_LIMIT_READ_IP_PER_S', 'rateLimit.limits.read.ip.perSecond', 100, '101', 101],
  ['RATE_LIMIT_WRITE_BURST', 'rateLimit.limits.write.key.burst', 30, '31', 31],
  ['RATE_LIMIT_WRITE_PER_S', 'rateLimit.limits.write.key.perSecond', 5, '6', 6],
  ['RATE_LIMIT_WRITE_IP_BURST', 'rateLimit.limits.write.ip.burst', 150, '151', 151],
  ['RATE_LIMIT_WRITE_IP_PER_S', 'rateLimit.limits.write.ip.perSecond', 25, '26', 26],
  ['RATE_LIMIT_ORDER_WRITE_BURST', 'rateLimit.limits.orderWrite.key.burst', 10, '11', 11],
  ['RATE_LIMIT_ORDER_WRITE_PER_S', 'rateLimit.limits.orderWrite.key.perSecond', 1, '0.5', 0.5],
  ['RATE_LIMIT_ORDER_WRITE_IP_BURST', 'rateLimit.limits.orderWrite.ip.burst', 50, '51', 51],
  ['RATE_LIMIT_ORDER_WRITE_IP_PER_S', 'rateLimit.limits.orderWrite.ip.perSecond', 5, '6', 6],
];

/** A config as `path → value`, payload keys as `id → base64`. */
function flatten(value: unknown, prefix = '', leaves: Record<string, unknown> = {}): Record<string, unknown> {
  if (value instanceof Map) {
    leaves[prefix] = Object.fromEntries(
      [...(value as Map<string, Buffer>)].map(([id, key]) => [id, key.toString('base64')]),
    );
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix ? `${prefix}.${key}` : key, leaves);
  } else {
    leaves[prefix] = value;
  }
  return leaves;
}

describe('every variable', () => {
  it('is declared once, and none is added or lost', () => {
    const names = configReference().flatMap((area) => area.variables.map((variable) => variable.name));
    expect(names).toHaveLength(new Set(names).size);
    expect(new Set(names)).toEqual(new Set(frozen.map(([variable]) => variable)));
  });

  it('gives what it always gave when nothing is set', () => {
    expect(flatten(loadConfig({}))).toEqual(
      Object.fromEntries(frozen.map(([, configPath, unset]) => [configPath, unset])),
    );
  });

  it('lands where it always did when set', () => {
    const env = Object.fromEntries(frozen.map(([variable, , , set]) => [variable, set]));
    expect(flatten(loadConfig(env))).toEqual(
      Object.fromEntries(frozen.map(([, configPath, , , parsed]) => [configPath, parsed])),
    );
  });

  it('shows no secret as a default: a secret has none, is the public development key, or is a URL without a password', () => {
    const secrets = configReference()
      .flatMap((area) => area.variables)
      .filter((variable) => variable.secret && variable.default !== undefined);
    for (const { name, default: value = '' } of secrets) {
      const isPublic =
        value === `dev:${publicDevelopmentKey}` || (/^[a-z]+:\/\//.test(value) && new URL(value).password === '');
      expect({ name, isPublic }).toEqual({ name, isPublic: true });
    }
  });
});

describe('generated configuration reference', () => {
  it.each(generatedFiles.map((file) => [file.path, file.render] as const))(
    '%s says what the schemas say',
    (file, render) => {
      const committed = readFileSync(path.join(repoRoot, file), 'utf8').split('\n');
      const generated = render().split('\n');
      const line = generated.findIndex((text, index) => committed[index] !== text);
      const stale =
        line === -1 && committed.length === generated.length
          ? undefined
          : `${file} is stale (first difference at line ${line === -1 ? generated.length + 1 : line + 1}): ` +
            'run npx tsx scripts/generate-config-docs.ts';
      expect(stale).toBeUndefined();
    },
  );

  it('.env.example sets every variable to its default', () => {
    const example = readFileSync(path.join(repoRoot, '.env.example'), 'utf8');
    const documented = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(documented).toEqual(
      Object.fromEntries(Object.entries(configDefaults).map(([name, value]) => [name, value ?? ''])),
    );
  });

  it('docs/configuration.md has a row for every variable with its default', () => {
    const page = readFileSync(path.join(repoRoot, 'docs/configuration.md'), 'utf8').split('\n');
    for (const [name, value] of Object.entries(configDefaults)) {
      // Prettier pads table cells, so a row is found by its first cell, whatever the spacing.
      const row = page.find((line) => new RegExp(`^\\|\\s*\`${name}\`\\s+\\|`).test(line));
      expect({ name, row: row?.includes(value === undefined ? '(empty)' : `\`${value}\``) }).toEqual({
        name,
        row: true,
      });
    }
  });
});
