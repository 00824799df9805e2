import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfigOrExit, type Config } from '../platform/config';
import { spawnManaged, spawnNodeEntry } from '../dev/child-process';
import {
  EmbeddedPostgresError,
  embeddedPostgresDir,
  postmasterPidFile,
  startEmbeddedPostgres,
} from '../dev/embedded-postgres';
import { childPorts, firstTakenPort, type PortNeed } from '../dev/port-holder';
import { Supervisor } from '../dev/supervisor';
import { Watchdog } from '../dev/watchdog';
import { createLogger, type Logger } from '../platform/logger';
import { migrate } from '../platform/migrations';
import { ensureDatabase, isPostgresAnswering, printableUrl } from '../platform/postgres-admin';
import { describeRedis, isRedisAnswering } from '../platform/redis';
import { hasWorkflowPollers, isTemporalAnswering } from '../platform/temporal';
import { ensureTemporalCli } from '../dev/temporal-cli';
import { devServerArgs } from '../dev/temporal-dev-server';
import { mintWebUiCodecKey } from '../dev/web-ui-codec-key';

/**
 * `npm start`: the whole platform on one machine. Uses the PostgreSQL, Redis and Temporal the
 * config points to when they answer; otherwise starts an embedded PostgreSQL and a Temporal dev
 * server (SQLite file under DATA_DIR, Web UI on, decrypting payloads through the codec server).
 * Then migrates, starts the codec server, the worker, the outbox relay, the projector and the API
 * as child processes, restarts any that dies (dev/supervisor.ts), and stops all of it, in order, on
 * Ctrl-C or SIGTERM. Killed outright, it leaves nothing running: its Node children exit with it
 * (dev/exit-with-parent.ts), and a watchdog stops the servers that are not Node (dev/watchdog.ts).
 */

const repoRoot = path.resolve(__dirname, '..');
const graceMs = 10_000;

/** This run: its settings and log, what keeps its children, what stops them if it is killed. */
interface Run {
  config: Config;
  logger: Logger;
  supervisor: Supervisor;
  watchdog: Watchdog;
}

function isLocalHost(url: string): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname);
}

async function ensureRedis(config: Config): Promise<void> {
  if (await isRedisAnswering(config)) return;
  throw new StartError(
    `no Redis answers at ${describeRedis(config)}. Start one, e.g. ` +
      '`redis-server --daemonize yes --port 6379` or `docker compose up -d redis`, or set REDIS_URL ' +
      '(REDIS_CLUSTER_NODES for a Redis Cluster: `npm run redis-cluster -- start`).',
  );
}

async function ensurePostgres({
  config,
  logger,
  supervisor,
  watchdog,
}: Run): Promise<{ url: string; embedded: boolean }> {
  if (await isPostgresAnswering(config.database.url)) return { url: config.database.url, embedded: false };
  if (config.embeddedPostgres === 'never' || !isLocalHost(config.database.url)) {
    throw new StartError(
      `no PostgreSQL answers at ${printableUrl(config.database.url)}; start it or fix DATABASE_URL` +
        (config.embeddedPostgres === 'never' ? '' : ' (the embedded fallback only replaces a local server)'),
    );
  }
  const port = Number(new URL(config.database.url).port || 5432);
  await refuseTakenPorts([{ host: '127.0.0.1', port, owner: 'the embedded PostgreSQL', setting: 'DATABASE_URL' }]);
  logger.warn(
    { port },
    `no PostgreSQL answers at ${printableUrl(config.database.url)}: starting an embedded PostgreSQL`,
  );
  // Guarded from before it starts: its pid file names the server whenever one runs.
  watchdog.guard({
    name: 'embedded PostgreSQL',
    role: 'server',
    pidFile: postmasterPidFile(config.dataDir),
    commandMentions: embeddedPostgresDir(config.dataDir),
    signal: 'SIGINT',
    graceMs,
  });
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port, logger });
  supervisor.own('embedded PostgreSQL', async () => {
    await embedded.stop();
    watchdog.release('embedded PostgreSQL');
  });
  const url = new URL(embedded.url);
  url.pathname = new URL(config.database.url).pathname;
  return { url: url.toString(), embedded: true };
}

async function ensureTemporal(
  { config, logger, supervisor, watchdog }: Run,
  codecEndpoint: string,
): Promise<{ started: boolean; uiUrl: string | undefined }> {
  if (await isTemporalAnswering(config.temporal.address)) {
    logger.info({ address: config.temporal.address }, 'using the running Temporal server');
    return { started: false, uiUrl: undefined };
  }
  const cli = await ensureTemporalCli(logger, config.temporal.cliPath);
  const [ip = '127.0.0.1', port = '7233'] = splitHostPort(config.temporal.address);
  await refuseTakenPorts([
    { host: ip, port: Number(port), owner: 'the Temporal dev server', setting: 'TEMPORAL_ADDRESS' },
    { host: ip, port: config.temporal.uiPort, owner: 'the Temporal Web UI', setting: 'TEMPORAL_UI_PORT' },
  ]);
  const dbFilename = path.resolve(config.dataDir, 'temporal.db');
  const name = 'Temporal dev server';
  supervisor.keep({
    name,
    spawn: () =>
      spawnManaged({
        name,
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
      }),
    onSpawn: (server) => {
      if (server.child.pid) watchdog.guard({ name, role: 'server', pid: server.child.pid, signal: 'SIGINT', graceMs });
    },
    // The dev server exits on SIGINT as on Ctrl-C in its own terminal, closing SQLite cleanly.
    stop: async (server) => {
      await server.stop(graceMs, 'SIGINT');
      watchdog.release(name);
    },
    graceMs,
  });
  logger.info(
    { address: config.temporal.address, dbFilename, log: path.resolve(config.dataDir, 'temporal.log') },
    'starting the Temporal dev server',
  );
  await waitFor('the Temporal dev server', 60_000, () => isTemporalAnswering(config.temporal.address, 1_000));
  return { started: true, uiUrl: `http://${ip === '0.0.0.0' ? '127.0.0.1' : ip}:${config.temporal.uiPort}` };
}

interface CodecServer {
  url: string;
  /** The Web UI's endpoint: this run's operator key in front of the operation (the UI cannot send a header). */
  uiEndpoint: string;
}

/**
 * The codec server through which the Web UI decrypts payloads, for operators' API keys; the dev
 * server's UI gets an operator key of this run (dev/web-ui-codec-key.ts), revoked when we stop.
 * The dev server's UI origin is allowed beside the configured ones.
 */
async function startCodecServer(run: Run, env: NodeJS.ProcessEnv, databaseUrl: string): Promise<CodecServer> {
  const { config, supervisor } = run;
  const webUiKey = await mintWebUiCodecKey(config, databaseUrl);
  // Owned before the codec server's process, so revoked after it has stopped.
  supervisor.own('the Web UI codec key', () => webUiKey.revoke());
  const [temporalIp = '127.0.0.1'] = splitHostPort(config.temporal.address);
  const uiHost = browsableHost(temporalIp);
  const uiOrigins = [`http://${uiHost}:${config.temporal.uiPort}`, `http://localhost:${config.temporal.uiPort}`];
  const corsOrigins = [...new Set([...config.codecServer.corsOrigins, ...uiOrigins])];
  keepNodeProcess(run, 'codec server', 'scripts/codec-server.ts', {
    ...env,
    CODEC_CORS_ORIGINS: corsOrigins.join(','),
  });
  const url = `http://${browsableHost(config.codecServer.host)}:${config.codecServer.port}`;
  await waitFor('the codec server', 30_000, async () => {
    try {
      return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).ok;
    } catch {
      return false;
    }
  });
  return { url, uiEndpoint: `${url}/${webUiKey.key}` };
}

function browsableHost(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host;
}

function splitHostPort(address: string): [string, string] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), address.slice(index + 1)];
}

/**
 * Polls `ready` until it is true. A child that dies meanwhile is restarted like any other, and one
 * that keeps dying ends the run (the supervisor gives up), so only time ends the wait here.
 */
async function waitFor(what: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready()) return;
    if (Date.now() > deadline) throw new StartError(`${what} was not ready within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function keepNodeProcess(
  { config, logger, supervisor, watchdog }: Run,
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
): void {
  supervisor.keep({
    name,
    spawn: () => spawnNodeEntry({ name, entry: path.join(repoRoot, entry), env, logger }),
    // Past exit-with-parent.ts' own deadline, the watchdog kills it.
    onSpawn: ({ child }) => {
      if (child.pid) watchdog.guard({ name, role: 'child', pid: child.pid, signal: 'SIGTERM', graceMs: 6_000 });
    },
    stop: async (child) => {
      await child.stop(config.shutdownTimeoutMs);
      watchdog.release(name);
    },
    graceMs: config.shutdownTimeoutMs,
  });
}

async function refuseTakenPorts(needs: PortNeed[]): Promise<void> {
  const taken = await firstTakenPort(needs);
  if (taken) throw new StartError(taken);
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
  process.on('SIGINT', () => void supervisor.exit(0, 'SIGINT'));
  process.on('SIGTERM', () => void supervisor.exit(0, 'SIGTERM'));
  // npm forwards SIGTERM to the shell it runs us in, not to us: when our parent goes, we go too,
  // rather than leave a platform running that nobody can stop with Ctrl-C.
  const parentPid = process.ppid;
  setInterval(() => {
    if (process.ppid !== parentPid) void supervisor.exit(0, 'parent process exited');
  }, 500);

  try {
    mkdirSync(config.dataDir, { recursive: true });
    await ensureRedis(config);
    // Before anything starts: a second run must refuse, not report "running" from the first one's servers.
    await refuseTakenPorts(childPorts(config));
    const watchdog = new Watchdog(logger);
    // Its own grace: it may have a server to stop (one that was still starting when we were told to go).
    supervisor.keep({
      name: 'watchdog',
      spawn: () => watchdog.spawn(),
      stop: () => watchdog.stop(graceMs + 2_000),
      graceMs,
    });
    const run: Run = { config, logger, supervisor, watchdog };
    const postgres = await ensurePostgres(run);
    if (await ensureDatabase(postgres.url)) logger.info('database created');
    const migrations = await migrate(postgres.url, { logger });
    logger.info({ applied: migrations.applied.length }, 'database migrated');
    const childEnv = { ...process.env, DATABASE_URL: postgres.url };
    const codec = await startCodecServer(run, childEnv, postgres.url);
    const temporal = await ensureTemporal(run, codec.uiEndpoint);

    keepNodeProcess(run, 'worker', 'worker/main.ts', childEnv);
    keepNodeProcess(run, 'outbox relay', 'scripts/relay.ts', childEnv);
    keepNodeProcess(run, 'projector', 'scripts/projector.ts', childEnv);
    keepNodeProcess(run, 'API', 'api/server.ts', childEnv);

    const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
    const apiUrl = `http://${host}:${config.http.port}`;
    await waitFor('the API', 60_000, () => isApiReady(apiUrl));
    // The worker is ready when Temporal sees it polling (it bundles the workflows first).
    await waitFor('the worker', 60_000, () => hasWorkflowPollers(config));
    if (supervisor.isExiting) return;
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
    if (!(error instanceof StartError || error instanceof EmbeddedPostgresError)) {
      logger.debug({ err: error }, 'start failed');
    }
    await supervisor.exit(1, message);
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
        ? `the Web UI decrypts payloads through it at ${info.codec.uiEndpoint} (an operator key of this run, revoked when npm start stops)`
        : `set the UI's codec endpoint to ${info.codec.url}/<your operator API key>`
    }; operators' tools: Authorization: Bearer <operator API key>)`,
    `  Temporal      ${info.config.temporal.address}, namespace ${info.config.temporal.namespace}, task queue ${info.config.temporal.taskQueue}`,
    `  PostgreSQL    ${printableUrl(info.postgresUrl)}${info.embedded ? '  (embedded, data in ' + path.resolve(info.config.dataDir, 'postgres') + ')' : ''}`,
    `  Redis         ${describeRedis(info.config)}   (domain event streams, read cache)`,
    ...(info.config.metrics.enabled
      ? [
          `  Metrics       http://127.0.0.1:${info.config.metrics.apiPort}/metrics (API), http://127.0.0.1:${info.config.metrics.workerPort}/metrics (worker), http://127.0.0.1:${info.config.projections.metricsPort}/metrics (projector)`,
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
      'locally. A part that dies is restarted (after 5 failures within a minute, everything stops). ' +
      'Ctrl-C stops everything. Settings come from the environment (see .env.example).',
  )
  .action(start)
  .parseAsync();
