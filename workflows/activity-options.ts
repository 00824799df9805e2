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

export const probeActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: infrastructureRetry,
};

/**
 * Steps that only touch our own database (record the order, hold stock, record the outcome) run
 * as local activities: a few milliseconds of work should not pay a server round trip each. They
 * are retried by the worker, and re-run after a crash like any activity (each is idempotent).
 */
export const localStepOptions: LocalActivityOptions = {
  startToCloseTimeout: '10s',
  retry: infrastructureRetry,
};

export const localCompensationOptions: LocalActivityOptions = {
  startToCloseTimeout: '10s',
  retry: untilDoneRetry,
};

/** Saga steps that call providers: retried on outages for about a minute, then the order fails and is compensated. */
export const orderStepOptions: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: infrastructureRetry,
};

/** Compensations that call providers. One that fails for good (a bug) is reported in the saga's state. */
export const compensationOptions: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: untilDoneRetry,
};
