import path from 'node:path';
import { spawnManaged, type ManagedProcess } from './child-process';
import type { Logger } from '../platform/logger';

/**
 * The Temporal dev server and the embedded PostgreSQL are not Node programs: they cannot run
 * exit-with-parent.ts to notice that `npm start` died, and neither has an option to die with its
 * parent. A small Node process, the watchdog (watchdog-main.ts), watches for them: `npm start` tells
 * it over an IPC channel which processes to guard, and when that channel closes (`npm start` was
 * killed, or is done) it stops those still running as a clean stop would (SIGINT), then kills what
 * remains after a grace period. It knows the Node children too, only to stop the servers after them.
 */
export interface GuardedProcess {
  name: string;
  /**
   * `child`: a Node child, which stops itself when `npm start` dies; the watchdog waits for it (and
   * kills it past its grace) before it stops any `server`, as a normal stop would.
   */
  role: 'child' | 'server';
  /** A server stops cleanly on its own signal (both servers: SIGINT) … */
  signal: NodeJS.Signals;
  /** … and is killed if still there this long after it. */
  graceMs: number;
  /** The process, or the file that holds its pid (PostgreSQL's postmaster.pid), read at the end. */
  pid?: number;
  pidFile?: string;
  /** When set, a pid whose command line does not contain it is not ours (a stale pid file). */
  commandMentions?: string;
}

export type WatchdogMessage = { guard: GuardedProcess } | { release: string };

export class Watchdog {
  private readonly targets = new Map<string, GuardedProcess>();
  private process: ManagedProcess | undefined;

  constructor(private readonly logger: Logger) {}

  /** Starts the watchdog process (again, after a crash) and tells it all it guards. */
  spawn(): ManagedProcess {
    this.process = spawnManaged({
      name: 'watchdog',
      command: process.execPath,
      args: ['--import', 'tsx', path.join(__dirname, 'watchdog-main.ts')],
      logger: this.logger,
      ipc: true,
    });
    for (const target of this.targets.values()) this.send({ guard: target });
    return this.process;
  }

  /** Guards `target`; a target of the same name is replaced (a restarted server has a new pid). */
  guard(target: GuardedProcess): void {
    this.targets.set(target.name, target);
    this.send({ guard: target });
  }

  release(name: string): void {
    this.targets.delete(name);
    this.send({ release: name });
  }

  /**
   * Ends the watchdog, last: it stops whatever it still guards that is still running (nothing, when
   * everything stopped as it should; an embedded PostgreSQL still starting when Ctrl-C came).
   */
  async stop(graceMs: number): Promise<void> {
    this.targets.clear();
    const watchdog = this.process;
    if (!watchdog) return;
    if (watchdog.child.connected) watchdog.child.disconnect();
    const timer = setTimeout(() => watchdog.child.kill('SIGKILL'), graceMs);
    await watchdog.exited;
    clearTimeout(timer);
  }

  private send(message: WatchdogMessage): void {
    if (this.process?.child.connected) this.process.child.send(message);
  }
}
