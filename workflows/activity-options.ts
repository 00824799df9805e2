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
