import type { ActivityOptions } from '@temporalio/workflow';

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

/** Saga steps: retried on outages for about a minute, then the order fails and is compensated. */
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
