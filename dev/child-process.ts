import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../platform/logger';

/**
 * A long-running child process that `npm start` owns. Children run in their own process group,
 * so a Ctrl-C in the terminal reaches only the supervisor, which then stops them in order
 * (API first, so no request reaches a stopped worker; Temporal last).
 */
export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with how the process ended, whenever it ends (or could not start). */
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has gone. */
  stop(graceMs: number, signal?: NodeJS.Signals): Promise<void>;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** "exit code 1", "signal SIGKILL": for log lines and messages. */
export function describeExit({ code, signal }: ExitStatus): string {
  return signal ? `signal ${signal}` : `exit code ${code ?? 'unknown'}`;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Where the child's output goes: the terminal (default), or appended to a log file. */
  logFile?: string;
  /** An IPC channel to the child, which closes when we die however we die (see exit-with-parent.ts). */
  ipc?: boolean;
}

export function spawnManaged(options: SpawnOptions): ManagedProcess {
  const output = options.logFile ? openSync(options.logFile, 'a') : 'inherit';
  const child = spawn(options.command, options.args, {
    env: options.env ?? process.env,
    stdio: options.ipc ? ['ignore', output, output, 'ipc'] : ['ignore', output, output],
    detached: true,
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A process that could not start emits 'error' and maybe never 'exit'.
    child.once('error', (error) => {
      options.logger.error({ err: error, process: options.name }, 'could not start process');
      resolve({ code: child.exitCode ?? 127, signal: null });
    });
  });

  return {
    name: options.name,
    child,
    exited,
    async stop(graceMs, signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
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

const exitWithParent = path.join(__dirname, 'exit-with-parent.ts');

/**
 * One of shopflow's Node entry points (worker, API, relay, …) as a child that exits when we die:
 * exit-with-parent.ts runs it and watches the IPC channel opened here.
 */
export function spawnNodeEntry(options: {
  name: string;
  entry: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
}): ManagedProcess {
  return spawnManaged({
    name: options.name,
    command: process.execPath,
    args: ['--import', 'tsx', exitWithParent, options.entry],
    env: options.env,
    logger: options.logger,
    ipc: true,
  });
}
