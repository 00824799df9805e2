import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of processes from Linux's /proc/<pid>/stat: user + system time of the process and of
 * its children it has waited for (utime, stime, cutime, cstime), in clock ticks.
 */

/** Clock ticks per second (`getconf CLK_TCK`), the unit of the times in /proc/<pid>/stat. */
export const clockTicksPerS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcStat {
  pid: number;
  ppid: number;
  /** The executable's name as the kernel keeps it (at most 15 characters). */
  comm: string;
  /** utime + stime + cutime + cstime, in milliseconds. */
  cpuMs: number;
  /** When the process started, in ticks since boot: with the pid, names one process even if pids are reused. */
  startTicks: number;
}

/** The process's stat, or undefined when it has exited (or never existed). */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: the fields after it start after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  // Field 3 (state) is index 0 here; see proc(5) for the numbering.
  const fields = text
    .slice(close + 2)
    .split(' ')
    .map((f) => Number(f));
  const field = (n: number) => fields[n - 3] ?? 0;
  const ticks = field(14) + field(15) + field(16) + field(17);
  return { pid, ppid: field(4), comm, cpuMs: (ticks * 1000) / clockTicksPerS, startTicks: field(22) };
}

/** Every live process whose parent is `ppid`. */
export function childrenOf(ppid: number): ProcStat[] {
  const children: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat?.ppid === ppid) children.push(stat);
  }
  return children;
}

/**
 * Accumulates the CPU time that groups of processes spend between `start` and `stop`.
 *
 * Sampled every `intervalMs`, not only at the ends, because some processes come and go during a
 * measurement (PostgreSQL backends of a pool that closes idle connections): an exited process
 * counts with its last sample, one that appeared counts from zero. What a process spent after its
 * last sample and before it exited is lost; idle-closed connections spend next to nothing then.
 */
export class CpuMeter {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, { cpuMs: number; group: string }>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();

  /** `watch` names, at each sample, the pids to measure and the group each counts towards. */
  constructor(private readonly watch: () => Promise<Map<number, string>>) {}

  async start(intervalMs = 1_000): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(async () => void (await this.sample())).catch(() => undefined);
    }, intervalMs);
  }

  /** Milliseconds of CPU per group since `start`, and how many measured processes exited meanwhile. */
  async stop(): Promise<{ cpuMsByGroup: Record<string, number>; exitedByGroup: Record<string, number> }> {
    clearInterval(this.timer);
    await this.sampling;
    const alive = await this.sample();
    const cpuMsByGroup: Record<string, number> = {};
    const exitedByGroup: Record<string, number> = {};
    for (const [key, { cpuMs, group }] of this.last) {
      cpuMsByGroup[group] = (cpuMsByGroup[group] ?? 0) + cpuMs - (this.first.get(key) ?? 0);
      if (!alive.has(key)) exitedByGroup[group] = (exitedByGroup[group] ?? 0) + 1;
    }
    return { cpuMsByGroup, exitedByGroup };
  }

  private async sample(): Promise<Set<string>> {
    const alive = new Set<string>();
    for (const [pid, group] of await this.watch()) {
      const stat = readProcStat(pid);
      if (!stat) continue;
      const key = `${pid}@${stat.startTicks}`;
      alive.add(key);
      // A process first seen after the start began during the measurement: all its time counts.
      if (!this.first.has(key)) this.first.set(key, this.timer === undefined ? stat.cpuMs : 0);
      this.last.set(key, { cpuMs: stat.cpuMs, group });
    }
    return alive;
  }
}
