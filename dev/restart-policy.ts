/**
 * What `npm start` does when one of its children dies: restart it after a delay that doubles with
 * each failure of the last minute (0.5 s, 1 s, 2 s, 4 s, capped), as compose's `restart: on-failure`
 * backs off; and give up at the fifth failure within a minute, since a child that cannot run
 * (a port taken, a setting it refuses) would otherwise crash forever behind a platform that looks up.
 * Pure: the supervisor feeds it the time of each exit.
 */
export interface RestartPolicySettings {
  firstDelayMs: number;
  /** Only reached with more failures allowed per window than the defaults. */
  maxDelayMs: number;
  /** Failures within `windowMs` at which the supervisor gives up. */
  maxFailures: number;
  windowMs: number;
}

export const defaultRestartPolicy: RestartPolicySettings = {
  firstDelayMs: 500,
  maxDelayMs: 30_000,
  maxFailures: 5,
  windowMs: 60_000,
};

export type RestartDecision =
  { restart: true; delayMs: number; failures: number } | { restart: false; failures: number };

export class RestartPolicy {
  private failures: number[] = [];

  constructor(readonly settings: RestartPolicySettings = defaultRestartPolicy) {}

  /** Records a failure at `now` and says whether, and after how long, to restart. */
  onFailure(now: number = Date.now()): RestartDecision {
    const { firstDelayMs, maxDelayMs, maxFailures, windowMs } = this.settings;
    this.failures = [...this.failures.filter((at) => now - at < windowMs), now];
    const failures = this.failures.length;
    if (failures >= maxFailures) return { restart: false, failures };
    return { restart: true, failures, delayMs: Math.min(maxDelayMs, firstDelayMs * 2 ** (failures - 1)) };
  }
}
