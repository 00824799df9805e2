import { InvalidArgumentError } from 'commander';

/** Parsers for the benchmarks' command-line options: a bad value is one clear line and exit 2. */

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
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}
