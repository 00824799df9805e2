import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { entryEnv, repoRoot } from './processes';

/** The `shopflow` command run as a user runs it: a process of its own, its exit code and output. */
export function shopflow(...args: string[]) {
  return shopflowWith({}, ...args);
}

export function shopflowWith(env: Record<string, string>, ...args: string[]) {
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'cli', 'bin.js'), ...args], {
    env: entryEnv({ LOG_LEVEL: 'error', ...env }),
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
