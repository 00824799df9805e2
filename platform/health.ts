import { withTimeout } from './timeout';

/**
 * Readiness of the process's dependencies, each checked with a deadline and timed.
 * UP: answered in time; DEGRADED: answered, but slower than the threshold, or said so itself, or an
 * optional dependency failed; DOWN: a required dependency failed or timed out.
 */

export type HealthStatus = 'UP' | 'DEGRADED' | 'DOWN';

export interface DependencyHealth {
  status: HealthStatus;
  responseTimeMs: number;
  /** Why this check failed. */
  error?: string;
  /** Why a check that answered reported DEGRADED (see `CheckOutcome`). */
  detail?: string;
  /** Present when the process keeps serving without this dependency: its DOWN makes the report DEGRADED. */
  optional?: true;
  /** The most recent failure seen by a monitor, kept after the dependency recovers (when it was, ISO 8601). */
  lastError?: { message: string; at: string };
}

export interface HealthReport {
  status: HealthStatus;
  checks: Record<string, DependencyHealth>;
  checkedAt: string;
}

/**
 * A check resolves when the dependency answered and rejects otherwise. What it resolves with is
 * ignored unless it is a `CheckOutcome`, which lets a dependency that answers report that it is not
 * well, e.g. a projection that lags: `return lag > limit ? degraded(`${lag} events behind`) : up();`.
 */
export type HealthCheck = (signal: AbortSignal) => Promise<unknown>;

/** An explicit result of a check that answered; `detail` says why it is DEGRADED. */
export interface CheckOutcome {
  status: 'UP' | 'DEGRADED';
  detail?: string;
}

export const up = (detail?: string): CheckOutcome =>
  detail === undefined ? { status: 'UP' } : { status: 'UP', detail };
export const degraded = (detail: string): CheckOutcome => ({ status: 'DEGRADED', detail });

/**
 * A dependency the process can serve without, more slowly or with less (Redis for the API: reads
 * fall back to PostgreSQL). Its failure still shows as DOWN in `checks`, but the report is DEGRADED.
 */
export interface OptionalCheck {
  check: HealthCheck;
  optional: true;
}

export type HealthChecks = Record<string, HealthCheck | OptionalCheck>;

export interface HealthOptions {
  timeoutMs: number;
  degradedMs: number;
}

function isCheckOutcome(value: unknown): value is CheckOutcome {
  if (typeof value !== 'object' || value === null) return false;
  const { status, detail } = value as { status?: unknown; detail?: unknown };
  return (status === 'UP' || status === 'DEGRADED') && (detail === undefined || typeof detail === 'string');
}

async function runCheck(check: HealthCheck, options: HealthOptions): Promise<DependencyHealth> {
  const controller = new AbortController();
  const startedAt = performance.now();
  try {
    const answer = await withTimeout(check(controller.signal), options.timeoutMs, undefined, () => controller.abort());
    const responseTimeMs = Math.round(performance.now() - startedAt);
    const slow = responseTimeMs > options.degradedMs;
    if (!isCheckOutcome(answer)) return { status: slow ? 'DEGRADED' : 'UP', responseTimeMs };
    const result: DependencyHealth = { status: slow ? 'DEGRADED' : answer.status, responseTimeMs };
    if (answer.detail !== undefined) result.detail = answer.detail;
    return result;
  } catch (error) {
    return {
      status: 'DOWN',
      responseTimeMs: Math.round(performance.now() - startedAt),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

export function overallStatus(statuses: HealthStatus[]): HealthStatus {
  if (statuses.includes('DOWN')) return 'DOWN';
  if (statuses.includes('DEGRADED')) return 'DEGRADED';
  return 'UP';
}

/** What a dependency's result weighs in the report: an optional dependency that is DOWN only degrades it. */
function weight(result: DependencyHealth): HealthStatus {
  return result.optional && result.status === 'DOWN' ? 'DEGRADED' : result.status;
}

/** Runs every check in parallel; the report is DOWN when any required dependency is. */
export async function checkHealth(checks: HealthChecks, options: HealthOptions): Promise<HealthReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name) => {
      const given = checks[name]!;
      if (typeof given === 'function') return runCheck(given, options);
      return { ...(await runCheck(given.check, options)), optional: true as const };
    }),
  );
  const report: Record<string, DependencyHealth> = {};
  names.forEach((name, i) => (report[name] = results[i]!));
  return { status: overallStatus(results.map(weight)), checks: report, checkedAt: new Date().toISOString() };
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
  checks: HealthChecks,
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
