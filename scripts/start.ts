import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfigOrExit, type Config } from '../platform/config';
import { spawnManaged, type ManagedProcess } from '../dev/child-process';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../dev/embedded-postgres';
import { createLogger, type Logger } from '../platform/logger';
import { migrate } from '../platform/migrations';
import { ensureDatabase, isPostgresAnswering } from '../platform/postgres-admin';
import { isRedisAnswering } from '../platform/redis';
import { hasWorkflowPollers, isTemporalAnswering } from '../platform/temporal';
import { ensureTemporalCli } from '../dev/temporal-cli';
import { devServerArgs } from '../dev/temporal-dev-server';

/**
 * `npm start`: the whole platform on one machine. Uses the PostgreSQL, Redis and Temporal the
 * config points to when they answer; otherwise starts an embedded PostgreSQL and a Temporal dev
 * server (SQLite file under DATA_DIR, Web UI on, decrypting payloads through the codec server).
 * Then migrates, starts the codec server, the worker, the outbox relay, the projector and the API as child processes, and stops
 * all of it, in order, on Ctrl-C or SIGTERM.
 */

const repoRoot = path.resolve(__dirname, '..');
const graceMs = 10_000;

/** What this run started and must stop, last started first stopped. */
class Supervisor {
  private readonly stoppers: { name: string; stop: () => Promise<void> }[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  own(name: string, stop: () => Promise<void>): void {
    this.stoppers.push({ name, stop });
  }

  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      for (const { name, stop } of [...this.stoppers].reverse()) {
        this.logger.info(`stopping ${name}`);
        await stop().catch((error: unknown) => this.logger.error({ err: error }, `could not stop ${name}`));
      }
    })();
    return this.stopping;
  }
}

function isLocalHost(url: string): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname);
}

/** The URL without its password, for printing. */
function printable(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

async function ensureRedis(config: Config): Promise<void> {
  if (await isRedisAnswering(config.redis.url)) return;
  throw new StartError(
    `no Redis answers at ${printable(config.redis.url)}. Start one, e.g. ` +
      '`redis-server --daemonize yes --port 6379` or `docker compose up -d redis`, or set REDIS_URL.',
  );
}

async function ensurePostgres(
  config: Config,
  logger: Logger,
  supervisor: Supervisor,
): Promise<{ url: string; embedded: boolean }> {
  if (await isPostgresAnswering(config.database.url)) return { url: config.database.url, embedded: false };
  if (config.embeddedPostgres === 'never' || !isLocalHost(config.database.url)) {
    throw new StartError(
      `no PostgreSQL answers at ${printable(config.database.url)}; start it or fix DATABASE_URL` +
        (config.embeddedPostgres === 'never' ? '' : ' (the embedded fallback only replaces a local server)'),
    );
  }
  const port = Number(new URL(config.database.url).port || 5432);
  logger.warn({ port }, `no PostgreSQL answers at ${printable(config.database.url)}: starting an embedded PostgreSQL`);
  const embedded: EmbeddedPostgresHandle = await startEmbeddedPostgres({ dataDir: config.dataDir, port, logger });
  supervisor.own('embedded PostgreSQL', () => embedded.stop());
  const url = new URL(embedded.url);
  url.pathname = new URL(config.database.url).pathname;
  return { url: url.toString(), embedded: true };
}

async function ensureTemporal(
  config: Config,
  logger: Logger,
  supervisor: Supervisor,
  codecEndpoint: string,
): Promise<{ started: boolean; uiUrl: string | undefined }> {
  if (await isTemporalAnswering(config.temporal.address)) {
    logger.info({ address: config.temporal.address }, 'using the running Temporal server');
    return { started: false, uiUrl: undefined };
  }
  const cli = await ensureTemporalCli(logger, config.temporal.cliPath);
  const [ip = '127.0.0.1', port = '7233'] = splitHostPort(config.temporal.address);
  const dbFilename = path.resolve(config.dataDir, 'temporal.db');
  const server = spawnManaged({
    name: 'Temporal dev server',
    command: cli,
    args: devServerArgs({
      ip,
      port: Number(port),
      uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      dbFilename,
      codecEndpoint,
    }),
    logger,
    // Its own log format and chatter (every reconnect while stopping) would drown ours.
    logFile: path.resolve(config.dataDir, 'temporal.log'),
  });
  // The dev server exits on SIGINT as on Ctrl-C in its own terminal, closing SQLite cleanly.
  supervisor.own(server.name, () => server.stop(graceMs, 'SIGINT'));
  logger.info(
    { address: config.temporal.address, dbFilename, log: path.resolve(config.dataDir, 'temporal.log') },
    'starting the Temporal dev server',
  );
  await waitFor('the Temporal dev server', 60_000, [server], () => isTemporalAnswering(config.temporal.address, 1_000));
  return { started: true, uiUrl: `http://${ip === '0.0.0.0' ? '127.0.0.1' : ip}:${config.temporal.uiPort}` };
}

interface CodecServer {
  process: ManagedProcess;
  url: string;
  /** The token in front of the operation: the Web UI cannot send an Authorization header. */
  uiEndpoint: string;
  token: string;
  generatedToken: boolean;
}

/**
 * The codec server through which the Web UI decrypts payloads. Without CODEC_SERVER_TOKEN it gets
 * a random one for this run; the dev server's UI origin is allowed beside the configured ones.
 */
async function startCodecServer(config: Config, env: NodeJS.ProcessEnv, logger: Logger): Promise<CodecServer> {
  const token = config.codecServer.token ?? randomBytes(24).toString('base64url');
  const [temporalIp = '127.0.0.1'] = splitHostPort(config.temporal.address);
  const uiHost = browsableHost(temporalIp);
  const uiOrigins = [`http://${uiHost}:${config.temporal.uiPort}`, `http://localhost:${config.temporal.uiPort}`];
  const corsOrigins = [...new Set([...config.codecServer.corsOrigins, ...uiOrigins])];
  const child = startNodeProcess(
    'codec server',
    'scripts/codec-server.ts',
    { ...env, CODEC_SERVER_TOKEN: token, CODEC_CORS_ORIGINS: corsOrigins.join(',') },
    logger,
  );
  const url = `http://${browsableHost(config.codecServer.host)}:${config.codecServer.port}`;
  await waitFor('the codec server', 30_000, [child], async () => {
    try {
      return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).ok;
    } catch {
      return false;
    }
  });
  return {
    process: child,
    url,
    uiEndpoint: `${url}/${encodeURIComponent(token)}`,
    token,
    generatedToken: config.codecServer.token === undefined,
  };
}

function browsableHost(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host;
}

function splitHostPort(address: string): [string, string] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), address.slice(index + 1)];
}

/** Polls `ready` until it is true; fails early if a process it depends on exits. */
async function waitFor(
  what: string,
  timeoutMs: number,
  processes: ManagedProcess[],
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (dead)
      throw new StartError(`${dead.name} exited (code ${dead.child.exitCode ?? dead.child.signalCode}) while starting`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new StartError(`${what} was not ready within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function startNodeProcess(name: string, entry: string, env: NodeJS.ProcessEnv, logger: Logger): ManagedProcess {
  return spawnManaged({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(repoRoot, entry)],
    env,
    logger,
  });
}

async function isApiReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(3_000) });
    return response.ok;
  } catch {
    return false;
  }
}

class StartError extends Error {}

async function start(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'shopflow-start');
  const supervisor = new Supervisor(logger);
  let shuttingDown = false;
  const shutdown = (reason: string, exitCode: number): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ reason }, 'stopping shopflow');
    void supervisor.stopAll().then(() => {
      logger.info('shopflow stopped');
      process.exit(exitCode);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT', 0));
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  // npm forwards SIGTERM to the shell it runs us in, not to us: when our parent goes, we go too,
  // rather than leave a platform running that nobody can stop with Ctrl-C.
  const parentPid = process.ppid;
  setInterval(() => {
    if (process.ppid !== parentPid) shutdown('parent process exited', 0);
  }, 500);

  try {
    mkdirSync(config.dataDir, { recursive: true });
    await ensureRedis(config);
    const postgres = await ensurePostgres(config, logger, supervisor);
    if (await ensureDatabase(postgres.url)) logger.info('database created');
    const migrations = await migrate(postgres.url, { logger });
    logger.info({ applied: migrations.applied.length }, 'database migrated');
    const childEnv = { ...process.env, DATABASE_URL: postgres.url };
    const codec = await startCodecServer(config, childEnv, logger);
    supervisor.own('codec server', () => codec.process.stop(config.shutdownTimeoutMs));
    const temporal = await ensureTemporal(config, logger, supervisor, codec.uiEndpoint);

    const worker = startNodeProcess('worker', 'worker/main.ts', childEnv, logger);
    supervisor.own('worker', () => worker.stop(config.shutdownTimeoutMs));
    const relay = startNodeProcess('outbox relay', 'scripts/relay.ts', childEnv, logger);
    supervisor.own('outbox relay', () => relay.stop(config.shutdownTimeoutMs));
    const projector = startNodeProcess('projector', 'scripts/projector.ts', childEnv, logger);
    supervisor.own('projector', () => projector.stop(config.shutdownTimeoutMs));
    const api = startNodeProcess('API', 'api/server.ts', childEnv, logger);
    supervisor.own('API', () => api.stop(config.shutdownTimeoutMs));

    const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
    const apiUrl = `http://${host}:${config.http.port}`;
    await waitFor('the API', 60_000, [worker, relay, projector, api], () => isApiReady(apiUrl));
    // The worker is ready when Temporal sees it polling (it bundles the workflows first).
    await waitFor('the worker', 60_000, [worker, relay, projector, api], () => hasWorkflowPollers(config));

    for (const child of [codec.process, worker, relay, projector, api]) {
      void child.exited.then((code) => {
        if (!shuttingDown) {
          logger.error({ process: child.name, code }, `${child.name} exited unexpectedly`);
          shutdown(`${child.name} exited`, 1);
        }
      });
    }
    printBanner({
      apiUrl,
      temporalUi: temporal.uiUrl,
      codec,
      config,
      postgresUrl: postgres.url,
      embedded: postgres.embedded,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`shopflow start: ${message}\n`);
    if (!(error instanceof StartError)) logger.debug({ err: error }, 'start failed');
    await supervisor.stopAll();
    process.exit(1);
  }
}

function printBanner(info: {
  apiUrl: string;
  temporalUi: string | undefined;
  codec: CodecServer;
  config: Config;
  postgresUrl: string;
  embedded: boolean;
}): void {
  const lines = [
    '',
    'shopflow is running',
    `  API           ${info.apiUrl}   (readiness: ${info.apiUrl}/health/ready; docs: ${info.apiUrl}/docs)`,
    `  API keys      npx shopflow apikey create --role operator   (every /v1 request needs one)`,
    `  Temporal UI   ${info.temporalUi ?? 'served by your Temporal server (TEMPORAL_ADDRESS was already running)'}`,
    `  Codec server  ${info.codec.url}   (${
      info.temporalUi
        ? 'the Web UI decrypts payloads through it'
        : `set the UI's codec endpoint to ${info.codec.uiEndpoint}`
    }; operator token: ${info.codec.generatedToken ? `${info.codec.token}, new each run` : 'CODEC_SERVER_TOKEN'})`,
    `  Temporal      ${info.config.temporal.address}, namespace ${info.config.temporal.namespace}, task queue ${info.config.temporal.taskQueue}`,
    `  PostgreSQL    ${printable(info.postgresUrl)}${info.embedded ? '  (embedded, data in ' + path.resolve(info.config.dataDir, 'postgres') + ')' : ''}`,
    `  Redis         ${printable(info.config.redis.url)}   (domain event streams, read cache)`,
    ...(info.config.metrics.enabled
      ? [
          `  Metrics       ${info.apiUrl}/metrics (API), http://127.0.0.1:${info.config.metrics.workerPort}/metrics (worker), http://127.0.0.1:${info.config.projections.metricsPort}/metrics (projector)`,
        ]
      : []),
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

void new Command('start')
  .description(
    'Run all of shopflow on this machine: Temporal dev server (unless TEMPORAL_ADDRESS answers), migrations, ' +
      'codec server (the Web UI decrypts payloads through it), worker, outbox relay, projector and API. Uses DATABASE_URL and REDIS_URL; falls back to an embedded PostgreSQL when none answers ' +
      'locally. Ctrl-C stops everything. Settings come from the environment (see .env.example).',
  )
  .action(start)
  .parseAsync();
