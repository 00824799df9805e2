import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, startEntry, startNode, type LongRunning } from '../../test/support/processes';

/**
 * How a benchmark runs shopflow's entry points: `node`, as production does, the JavaScript that
 * `npm run build` compiles into dist/; or `tsx`, as `npm start` and the tests do, the TypeScript
 * through tsx's loader (which compiles each file when it is first loaded, and keeps a loader hook).
 */
export type Runtime = 'node' | 'tsx';

export const runtimes: readonly Runtime[] = ['node', 'tsx'];

/** `npm run build` (tsconfig.build.json into dist/); throws with the compiler's output on failure. */
export function buildDist(): void {
  const result = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stdout}${result.stderr}`);
}

/** Where `npm run build` puts an entry point's JavaScript: `api/server.ts` → `dist/api/server.js`. */
export function compiledPath(entry: string): string {
  return path.join(repoRoot, 'dist', entry.replace(/\.ts$/, '.js'));
}

/**
 * Starts an entry point (a path like `api/server.ts`) as its own process. `env` overrides the
 * benchmark's environment, as with test/support/processes.ts `startEntry`, which runs the tsx case.
 */
export function startWith(
  runtime: Runtime,
  entry: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): LongRunning {
  if (runtime === 'tsx') {
    if (nodeArgs.length > 0) throw new Error('node arguments (e.g. --cpu-prof) need --runtime node');
    return startEntry(entry, env);
  }
  const file = compiledPath(entry);
  if (!existsSync(file)) throw new Error(`${file} does not exist: run npm run build first`);
  return startNode([...nodeArgs, file], env, file);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has gone. */
export async function stopProcess(running: LongRunning, graceMs = 20_000): Promise<void> {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await running.exited;
  clearTimeout(timer);
}
