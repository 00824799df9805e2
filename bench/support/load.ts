/**
 * Closed-loop load: `concurrency` clients, each sending its next request as soon as the previous
 * one answered, for `durationMs`. The rate this reaches is the system's throughput at that many
 * concurrent clients.
 */
export interface LoadResult<T> {
  results: T[];
  latenciesMs: number[];
  elapsedMs: number;
  errors: number;
  firstError?: string;
}

export async function closedLoop<T>(
  concurrency: number,
  durationMs: number,
  request: () => Promise<T>,
): Promise<LoadResult<T>> {
  const result: LoadResult<T> = { results: [], latenciesMs: [], elapsedMs: 0, errors: 0 };
  const startedAt = performance.now();
  const deadline = startedAt + durationMs;
  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const sentAt = performance.now();
      try {
        result.results.push(await request());
        result.latenciesMs.push(performance.now() - sentAt);
      } catch (error) {
        result.errors += 1;
        result.firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  result.elapsedMs = performance.now() - startedAt;
  return result;
}

/** The q-quantile (0..1) of the samples, nearest-rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
