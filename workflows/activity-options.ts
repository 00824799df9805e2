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
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** Saga steps that call providers: retried on outages for about a minute, then the order fails and is compensated. */
export const orderStepOptions: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: infrastructureRetry,
};

/**
 * Compensations and the final record must finish, however long an outage lasts: they retry
 * without a limit. A compensation that fails for good (a bug) is reported in the saga's state.
 */
export const compensationOptions: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '1m' },
};
