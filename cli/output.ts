import { SingleBar } from 'cli-progress';

/** A progress bar on stderr when it is a terminal; nothing otherwise (CI logs, pipes, --json). */
export function progressBar(total: number, label: string, enabled: boolean) {
  if (!enabled || !process.stderr.isTTY || total === 0) return { tick: () => undefined, stop: () => undefined };
  const bar = new SingleBar({ format: ` ${label} [{bar}] {value}/{total} {eta_formatted}`, stream: process.stderr });
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
