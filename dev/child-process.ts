import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { once } from 'node:events';
import type { Logger } from '../platform/logger';

/**
 * A long-running child process that `npm start` owns. Children run in their own process group,
 * so a Ctrl-C in the terminal reaches only the supervisor, which then stops them in order
 * (API first, so no request reaches a stopped worker; Temporal last).
 */
export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) whenever the process ends. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has gone. */
  stop(graceMs: number, signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Where the child's output goes: the terminal (default), or appended to a log file. */
  logFile?: string;
}

export function spawnManaged(options: SpawnOptions): ManagedProcess {
  const output = options.logFile ? openSync(options.logFile, 'a') : 'inherit';
  const child = spawn(options.command, options.args, {
    env: options.env ?? process.env,
    stdio: ['ignore', output, output],
    detached: true,
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code as number | null) ?? (signal as string));
  child.on('error', (error) => options.logger.error({ err: error, process: options.name }, 'could not start process'));

  return {
    name: options.name,
    child,
    exited,
    async stop(graceMs, signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => {
        options.logger.warn({ process: options.name, graceMs }, 'process did not stop in time; killing it');
        child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
