import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../platform/logger';
import { goBinary, goInstall, onPath, shopflowCacheDir } from './go-install';

/**
 * The Temporal CLI (dev server + Web UI) that shopflow runs. Its version is pinned here and
 * nowhere else. v1.5.1 is the newest tag `go install` accepts: later tags carry a `replace`
 * directive in go.mod, which `go install pkg@version` refuses.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Outside the repository (dev/go-install.ts). */
export function cachedCliPath(version = TEMPORAL_CLI_VERSION): string {
  return shopflowCacheDir('temporal', version, 'temporal');
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

/** Builds the pinned CLI from the Go module proxy into the cache. */
export async function buildTemporalCli(logger: Logger): Promise<string> {
  if (!goBinary()) {
    throw new Error(
      'the Temporal CLI is not installed and Go is not available to build it: install Go, or the CLI ' +
        '(https://docs.temporal.io/cli), or set TEMPORAL_CLI_PATH',
    );
  }
  const target = cachedCliPath();
  await goInstall(logger, {
    what: 'the Temporal CLI',
    pkg: TEMPORAL_CLI_MODULE,
    version: TEMPORAL_CLI_VERSION,
    binDir: path.dirname(target),
  });
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
