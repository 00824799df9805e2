/**
 * Readiness of the process's dependencies, each checked with a deadline and timed.
 * UP: answered in time; DEGRADED: answered, but slower than the threshold; DOWN: failed or timed out.
 */

export type HealthStatus = 'UP' | 'DEGRADED' | 'DOWN';

export interface DependencyHealth {
  status: HealthStatus;
  responseTimeMs: number;
  /** Why this check failed. */
  error?: string;
  /** The most recent failure seen by a monitor, kept after the dependency recovers (when it was, ISO 8601). */
  lastError?: { message: string; at: string };
}

export interface HealthReport {
  status: HealthStatus;
  checks: Record<string, DependencyHealth>;
  checkedAt: string;
}

/** A check resolves when the dependency answered and rejects otherwise. */
export type HealthCheck = (signal: AbortSignal) => Promise<unknown>;

export interface HealthOptions {
  timeoutMs: number;
  degradedMs: number;
}

async function runCheck(check: HealthCheck, options: HealthOptions): Promise<DependencyHealth> {
  const controller = new AbortController();
  const startedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  try {
    await Promise.race([check(controller.signal), timeout]);
    const responseTimeMs = Math.round(performance.now() - startedAt);
    return { status: responseTimeMs > options.degradedMs ? 'DEGRADED' : 'UP', responseTimeMs };
  } catch (error) {
    return {
      status: 'DOWN',
      responseTimeMs: Math.round(performance.now() - startedAt),
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

export function overallStatus(statuses: HealthStatus[]): HealthStatus {
  if (statuses.includes('DOWN')) return 'DOWN';
  if (statuses.includes('DEGRADED')) return 'DEGRADED';
  return 'UP';
}

/** Runs every check in parallel; the report is DOWN when any dependency is. */
export async function checkHealth(checks: Record<string, HealthCheck>, options: HealthOptions): Promise<HealthReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => runCheck(checks[name]!, options)));
  const report: Record<string, DependencyHealth> = {};
  names.forEach((name, i) => (report[name] = results[i]!));
  return { status: overallStatus(results.map((r) => r.status)), checks: report, checkedAt: new Date().toISOString() };
}

export interface HealthMonitor {
  /** Runs every check, remembers each dependency's last failure, and passes the report to `onReport`. */
  check(): Promise<HealthReport>;
}

/**
 * Checks run again and again (readiness probes, metric scrapes): a monitor keeps what one check
 * alone cannot tell, the last error of each dependency and when it happened, e.g. a database that
 * dropped out for a moment between two probes that both found it UP.
 */
export function createHealthMonitor(
  checks: Record<string, HealthCheck>,
  options: HealthOptions & { onReport?: (report: HealthReport) => void; clock?: () => Date },
): HealthMonitor {
  const lastErrors = new Map<string, { message: string; at: string }>();
  const clock = options.clock ?? (() => new Date());
  return {
    async check() {
      const report = await checkHealth(checks, options);
      for (const [name, result] of Object.entries(report.checks)) {
        if (result.error !== undefined) lastErrors.set(name, { message: result.error, at: clock().toISOString() });
        const lastError = lastErrors.get(name);
        if (lastError) result.lastError = lastError;
      }
      options.onReport?.(report);
      return report;
    },
  };
}
