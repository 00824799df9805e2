import type { Logger } from '../platform/logger';
import { describeExit, type ExitStatus, type ManagedProcess } from './child-process';
import { RestartPolicy } from './restart-policy';

/**
 * What `npm start` runs and how it keeps it. Each child it keeps is restarted when it dies, with
 * backoff (restart-policy.ts), while the others run on; everything it owns is stopped in order, last
 * started first stopped; and when a child keeps failing, or start-up fails, it stops everything and
 * prints why as its last line.
 */
export class Supervisor {
  private readonly stoppers: { name: string; stop: () => Promise<void> }[] = [];
  private exiting = false;

  constructor(private readonly logger: Logger) {}

  /** Something to stop on the way out (after everything owned later). */
  own(name: string, stop: () => Promise<void>): void {
    this.stoppers.push({ name, stop });
  }

  /** Runs a child and keeps it running; gives up (stops everything, exit code 1) when it fails too often. */
  keep(options: KeepOptions): void {
    const kept = new KeptProcess(options, {
      logger: this.logger,
      giveUp: (reason) => void this.exit(1, `gave up: ${reason}`),
      // While everything stops, a child that dies (its dependency went first) stays down.
      restartsAllowed: () => !this.exiting,
    });
    this.own(options.name, () => kept.stop());
  }

  get isExiting(): boolean {
    return this.exiting;
  }

  /**
   * Stops everything and exits with `code`. A failure's reason (code not 0) is printed last, on a
   * line of its own. Only the first call counts: a Ctrl-C while giving up changes neither the exit
   * code nor the reason.
   */
  async exit(code: number, reason: string): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    if (this.stoppers.length > 0) {
      this.logger.info({ reason }, 'stopping shopflow');
      for (const { name, stop } of [...this.stoppers].reverse()) {
        this.logger.info(`stopping ${name}`);
        await stop().catch((error: unknown) => this.logger.error({ err: error }, `could not stop ${name}`));
      }
      this.logger.info('shopflow stopped');
    }
    if (code !== 0) process.stderr.write(`shopflow start: ${reason}\n`);
    process.exit(code);
  }
}

export interface KeepOptions {
  name: string;
  spawn: () => ManagedProcess;
  /** How it stops: `signal` (default SIGTERM), killed after `graceMs` … */
  graceMs: number;
  signal?: NodeJS.Signals;
  /** … unless it has a way of its own. */
  stop?: (process: ManagedProcess) => Promise<void>;
  /** Called with each process started, the first and every restart. */
  onSpawn?: (process: ManagedProcess) => void;
  policy?: RestartPolicy;
}

/** A child kept running: restarted after every exit that we did not ask for. */
class KeptProcess {
  private current: ManagedProcess;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly policy: RestartPolicy;

  constructor(
    private readonly options: KeepOptions,
    private readonly supervisor: {
      logger: Logger;
      giveUp: (reason: string) => void;
      restartsAllowed: () => boolean;
    },
  ) {
    this.policy = options.policy ?? new RestartPolicy();
    this.current = this.launch();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const { stop, graceMs, signal } = this.options;
    await (stop ? stop(this.current) : this.current.stop(graceMs, signal));
  }

  private launch(): ManagedProcess {
    const started = this.options.spawn();
    this.options.onSpawn?.(started);
    void started.exited.then((status) => this.onExit(started, status));
    return started;
  }

  private onExit(exited: ManagedProcess, status: ExitStatus): void {
    if (this.stopping || !this.supervisor.restartsAllowed()) return;
    const { name } = this.options;
    const how = describeExit(status);
    const decision = this.policy.onFailure();
    const fields = {
      process: name,
      childPid: exited.child.pid,
      code: status.code,
      signal: status.signal,
      failures: decision.failures,
    };
    if (!decision.restart) {
      const within = `${this.policy.settings.windowMs / 1000} s`;
      this.supervisor.logger.error(fields, `${name} exited (${how}): ${decision.failures} failures within ${within}`);
      this.supervisor.giveUp(
        `the ${name} failed ${decision.failures} times within ${within} (last: ${how}); everything is stopped`,
      );
      return;
    }
    this.supervisor.logger.warn(
      { ...fields, restartInMs: decision.delayMs },
      `${name} exited (${how}); restarting it in ${decision.delayMs / 1000} s`,
    );
    this.restartTimer = setTimeout(() => {
      if (!this.stopping && this.supervisor.restartsAllowed()) this.current = this.launch();
    }, decision.delayMs);
  }
}
