import { SingleBar } from 'cli-progress';
import { InvalidArgumentError } from 'commander';

/**
 * What shopflow's command-line programs share (the `shopflow` CLI, the npm scripts, the
 * benchmarks): option parsers that refuse a bad value with one clear line (commander prints it and
 * exits 2), and a progress bar for long commands.
 */

/** Concurrency levels, e.g. `1,8,32`. */
export function parseLevels(value: string): number[] {
  const levels = value.split(',').map(Number);
  if (levels.some((n) => !Number.isInteger(n) || n < 1))
    throw new InvalidArgumentError('must be positive integers, e.g. 1,8,32');
  return levels;
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

export function parseWholeNumber(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return Number(value);
}

/** parseWholeNumber, with the option's name in the message (for programs that print the message alone). */
export function positiveInt(name: string) {
  return (value: string): number => {
    try {
      return parseWholeNumber(value);
    } catch (error) {
      throw new InvalidArgumentError(`${name} ${(error as Error).message}`);
    }
  };
}

export interface ProgressBar {
  /** `done` of `total` in `phase`; the label and total follow each call. */
  show: (phase: string, done: number, total: number) => void;
  /** One more done in the current phase. */
  tick: () => void;
  stop: () => void;
}

/** A run of `total` named phases, one bar step each (the benchmarks' outline of what they do). */
export function phaseProgress(total: number, first: string): { next: (phase: string) => void; stop: () => void } {
  const bar = progressBar({ unit: ' phases' });
  let done = 0;
  bar.show(first, done, total);
  return { next: (phase) => bar.show(phase, ++done, total), stop: bar.stop };
}

const NO_BAR: ProgressBar = { show: () => undefined, tick: () => undefined, stop: () => undefined };

/**
 * A bar on stderr when it is a terminal; nothing otherwise (CI logs, pipes, `--json`), so output
 * that is read by programs stays clean. `unit` follows the count (` events`, ` phases`).
 */
export function progressBar({ enabled = true, unit = '' }: { enabled?: boolean; unit?: string } = {}): ProgressBar {
  if (!enabled || !process.stderr.isTTY) return NO_BAR;
  const bar = new SingleBar({
    format: ` {phase} [{bar}] {value}/{total}${unit} {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
  });
  let started = false;
  return {
    show(phase, done, total) {
      if (!started) {
        bar.start(Math.max(total, 1), done, { phase });
        started = true;
        return;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(done, { phase });
    },
    tick: () => started && bar.increment(),
    stop: () => started && bar.stop(),
  };
}
