import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../platform/logger';

/**
 * Temporal's binaries that shopflow builds from the Go module proxy (the CLI with its dev server,
 * the server's services and its SQL tool), cached outside the repository so that fresh clones
 * (and CI) on the same machine reuse one build.
 */

export function shopflowCacheDir(...parts: string[]): string {
  const cacheRoot = process.env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache');
  return path.join(cacheRoot, 'shopflow', ...parts);
}

export function onPath(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

export function goBinary(): string | undefined {
  return onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** Go's module cache, where `go install` leaves the sources it built (schemas, sample configs). */
export function goModuleCache(): string {
  const go = goBinary();
  if (!go) throw new Error('Go is not available: install Go (https://go.dev/dl/)');
  const result = spawnSync(go, ['env', 'GOMODCACHE'], { encoding: 'utf8' });
  const dir = result.stdout.trim();
  if (result.status !== 0 || !dir) throw new Error(`go env GOMODCACHE failed: ${result.stderr.trim()}`);
  return dir;
}

/**
 * `go install package@version` into `binDir` (minutes the first time on two cores; Go's own caches
 * make later builds fast), with a heartbeat in the log so that a long build is visibly alive.
 * `what` names it in the log ("the Temporal CLI").
 */
export async function goInstall(
  logger: Logger,
  { what, pkg, version, binDir }: { what: string; pkg: string; version: string; binDir: string },
): Promise<void> {
  const go = goBinary();
  if (!go) throw new Error(`${what} is not installed and Go is not available to build it: install Go`);
  logger.info({ pkg, version, binDir }, `building ${what} with go install (first time: a few minutes)`);
  const startedAt = Date.now();
  const heartbeat = setInterval(() => {
    logger.info({ elapsedSeconds: Math.round((Date.now() - startedAt) / 1000) }, `still building ${what}`);
  }, 15_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', `${pkg}@${version}`], {
        env: { ...process.env, GOBIN: binDir },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install exited with code ${code}`))));
    });
  } finally {
    clearInterval(heartbeat);
  }
  logger.info({ seconds: Math.round((Date.now() - startedAt) / 1000) }, `${what} built`);
}
