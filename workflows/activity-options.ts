import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/**
 * Timeouts and retry policies for every activity, in one place. Infrastructure failures are
 * retried with backoff; business failures are thrown as non-retryable ApplicationFailures.
 */
const infrastructureRetry: ActivityOptions['retry'] = {
  initialInterval: '200ms',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: 10,
};

/** Compensations and final records must finish however long an outage lasts: no attempt limit. */
const untilDoneRetry: ActivityOptions['retry'] = {
  initialInterval: '500ms',
  backoffCoefficient: 2,
  maximumInterval: '1m',
};

/**
 * Saga steps: retried on outages for about a minute, then the order fails and is compensated.
 * The same options serve the steps that only touch our own database, which run as local
 * activities (a few milliseconds of work should not pay a server round trip each; the worker
 * retries them, and re-runs them after a crash like any activity, as each is idempotent).
 */
export const stepOptions = {
  startToCloseTimeout: '10s',
  retry: infrastructureRetry,
} satisfies ActivityOptions & LocalActivityOptions;

/** Compensations and final records. One that fails for good (a bug) is reported in the saga's state. */
export const compensationOptions = {
  startToCloseTimeout: '10s',
  retry: untilDoneRetry,
} satisfies ActivityOptions & LocalActivityOptions;

/** The platform probe's steps are plain steps. */
export const probeActivityOptions = stepOptions;

/**
 * A rebalance's steps: a key is fenced while they run, so they are retried however long an outage
 * lasts (giving up would leave it fenced). Each moves one customer's rows, well within the timeout,
 * after which a step lost with its worker is run again.
 */
export const rebalanceStepOptions = {
  startToCloseTimeout: '20s',
  retry: untilDoneRetry,
} satisfies ActivityOptions;
