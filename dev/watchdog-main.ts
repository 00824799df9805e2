import { readFileSync } from 'node:fs';
import { isAlive } from './process-state';
import type { GuardedProcess, WatchdogMessage } from './watchdog';

/**
 * The watchdog process (see watchdog.ts): guards what `npm start` names over the IPC channel, and
 * when the channel closes, stops what is still there, in the order of a normal stop: first it waits
 * for the Node children, which stop themselves (exit-with-parent.ts), so that the worker and the API
 * finish while Temporal and PostgreSQL still answer; then it stops the servers. After a normal stop
 * nothing is left: `npm start` stopped everything itself before it let the watchdog go.
 */
const guarded = new Map<string, GuardedProcess>();

process.on('message', (message: WatchdogMessage) => {
  if ('guard' in message) guarded.set(message.guard.name, message.guard);
  else guarded.delete(message.release);
});

process.once('disconnect', () => {
  const targets = [...guarded.values()];
  void stopAll(targets.filter((target) => target.role === 'child'))
    .then(() => stopAll(targets.filter((target) => target.role === 'server')))
    .finally(() => process.exit(0));
});

/** Signals the servers (children need no signal: they are stopping already); kills any past its grace. */
async function stopAll(targets: GuardedProcess[]): Promise<void> {
  const running = targets
    .map((target) => ({ target, pid: pidOf(target) }))
    .filter((entry): entry is { target: GuardedProcess; pid: number } => entry.pid !== undefined);
  for (const { target, pid } of running) {
    if (target.role !== 'server') continue;
    process.stderr.write(`shopflow watchdog: npm start is gone; stopping the ${target.name} (pid ${pid})\n`);
    signal(pid, target.signal);
  }
  const startedAt = Date.now();
  let left = running;
  while (left.length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = left.filter(({ pid }) => isAlive(pid));
    for (const { target, pid } of left) {
      if (Date.now() - startedAt > target.graceMs) signal(pid, 'SIGKILL');
    }
  }
}

function pidOf(target: GuardedProcess): number | undefined {
  let pid = target.pid;
  if (pid === undefined && target.pidFile) {
    try {
      pid = Number(readFileSync(target.pidFile, 'utf8').split('\n')[0]);
    } catch {
      return undefined; // no pid file: the server is not running
    }
  }
  if (!pid || !isAlive(pid)) return undefined;
  const mentions = target.commandMentions;
  const command = mentions === undefined ? undefined : commandLine(pid);
  if (mentions !== undefined && command !== undefined && !command.includes(mentions)) return undefined;
  return pid;
}

/** The command line where the system tells it (Linux); elsewhere undefined, and the pid is trusted. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
