import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

/** Running shopflow's entry points as real processes, the way users and deployments run them. */

export const repoRoot = path.resolve(__dirname, '..', '..');

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The environment a spawned entry point gets: the test's, minus what global-setup added for jest. */
export function entryEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', NODE_ENV: 'test', ...overrides };
}

/** Runs an entry point to completion (for ones that exit at once, e.g. on bad config). */
export function runEntry(entry: string, env: Record<string, string>, timeoutMs = 30_000, args: string[] = []) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, entry), ...args], {
    env: entryEnv(env),
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface LongRunning {
  child: ChildProcess;
  output(): string;
  /** Resolves when the output contains `text`; rejects if the process exits first or time runs out. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startEntry(entry: string, env: Record<string, string>): LongRunning {
  return startNode(['--import', 'tsx', path.join(repoRoot, entry)], env, entry);
}

/** Runs `node <args>` with the entry-point environment, collecting its output; `name` is for messages. */
export function startNode(args: readonly string[], env: Record<string, string>, name: string): LongRunning {
  const child = spawn(process.execPath, args, { env: entryEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => output,
    exited,
    async waitForOutput(text, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      let gone = false;
      void exited.then(() => (gone = true));
      while (!output.includes(text)) {
        if (gone) throw new Error(`${name} exited before printing "${text}":\n${output}`);
        if (Date.now() > deadline)
          throw new Error(`${name} did not print "${text}" within ${timeoutMs} ms:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

export { isAlive } from '../../dev/process-state';

/** Pids of processes whose command line mentions `text` (e.g. a test's own data folder). */
export function pidsMentioning(text: string): number[] {
  const result = spawnSync('pgrep', ['-f', text], { encoding: 'utf8' });
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => pid !== process.pid);
}
