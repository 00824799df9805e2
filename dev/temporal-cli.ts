import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../platform/logger';

/**
 * The Temporal CLI (dev server + Web UI) that shopflow runs. Its version is pinned here and
 * nowhere else. v1.5.1 is the newest tag `go install` accepts: later tags carry a `replace`
 * directive in go.mod, which `go install pkg@version` refuses.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Outside the repository, so fresh clones (and CI) on the same machine reuse one build. */
export function cachedCliPath(version = TEMPORAL_CLI_VERSION): string {
  const cacheRoot = process.env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache');
  return path.join(cacheRoot, 'shopflow', 'temporal', version, 'temporal');
}

function onPath(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

export type CliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'cache';

/** Where an existing CLI is: the explicit path, `temporal` on PATH, then our cache. */
export function findTemporalCli(explicitPath?: string): { path: string; source: CliSource } | undefined {
  if (explicitPath) {
    if (!existsSync(explicitPath)) throw new Error(`TEMPORAL_CLI_PATH points to ${explicitPath}, which does not exist`);
    return { path: explicitPath, source: 'TEMPORAL_CLI_PATH' };
  }
  const fromPath = onPath('temporal');
  if (fromPath) return { path: fromPath, source: 'PATH' };
  const cached = cachedCliPath();
  if (existsSync(cached)) return { path: cached, source: 'cache' };
  return undefined;
}

function goBinary(): string | undefined {
  return onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/**
 * Builds the pinned CLI from the Go module proxy into the cache (minutes the first time on two
 * cores; Go's own caches make later builds fast). Prints a heartbeat so a long build is visibly alive.
 */
export async function buildTemporalCli(logger: Logger): Promise<string> {
  const go = goBinary();
  if (!go) {
    throw new Error(
      'the Temporal CLI is not installed and Go is not available to build it: install Go, or the CLI ' +
        '(https://docs.temporal.io/cli), or set TEMPORAL_CLI_PATH',
    );
  }
  const target = cachedCliPath();
  logger.info(
    { version: TEMPORAL_CLI_VERSION, target },
    'building the Temporal CLI with go install (first time: a few minutes)',
  );
  const startedAt = Date.now();
  const heartbeat = setInterval(() => {
    logger.info({ elapsedSeconds: Math.round((Date.now() - startedAt) / 1000) }, 'still building the Temporal CLI');
  }, 15_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
        env: { ...process.env, GOBIN: path.dirname(target) },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install exited with code ${code}`))));
    });
  } finally {
    clearInterval(heartbeat);
  }
  logger.info({ seconds: Math.round((Date.now() - startedAt) / 1000) }, 'Temporal CLI built');
  return target;
}

/** The CLI's path: an existing one, or the pinned version built now. */
export async function ensureTemporalCli(logger: Logger, explicitPath?: string): Promise<string> {
  const found = findTemporalCli(explicitPath);
  if (found) {
    logger.debug({ path: found.path, source: found.source }, 'using the Temporal CLI');
    return found.path;
  }
  return buildTemporalCli(logger);
}
