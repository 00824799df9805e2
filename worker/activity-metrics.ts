import type { Context } from '@temporalio/activity';
import { ApplicationFailure, type Next } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
} from '@temporalio/worker';
import { isOrderStatus } from '../domain/order-status';
import type { WorkerMetrics } from '../platform/metrics';
import type { CompensationName, SagaStepName } from '../workflows/orders/order-contract';

/**
 * Saga metrics measured where the work happens: every activity attempt passes through this
 * interceptor (local activities too), so the workflow itself stays free of metrics code and the
 * recorded histories replay unchanged.
 */

type MeasuredStep = Exclude<SagaStepName, 'await-delivery' | 'compensating' | 'completed' | 'delivery-overdue'>;

/** The saga step (or compensation) each activity implements, by activity type. */
export const sagaStepOfActivity: Readonly<
  Record<string, MeasuredStep | CompensationName | 'record-outcome' | 'record-deliveries'>
> = {
  recordOrder: 'record-order',
  reserveInventory: 'reserve-inventory',
  // Both first steps in one transaction (patch record-and-reserve-in-one-step): measured as the first.
  recordOrderAndReserveInventory: 'record-order',
  chargePayment: 'take-payment',
  createShipments: 'create-shipments',
  recordDeliveries: 'record-deliveries',
  recordOrderOutcome: 'record-outcome',
  cancelShipments: 'cancel-shipments',
  refundPayment: 'refund-payment',
  releaseInventory: 'release-inventory',
};

const compensationSteps: ReadonlySet<string> = new Set<CompensationName>([
  'cancel-shipments',
  'refund-payment',
  'release-inventory',
]);

/** A failure's type label: the ApplicationFailure's stable `type`, else the error's class name. */
export function failureType(error: unknown): string {
  if (error instanceof ApplicationFailure) return error.type ?? 'ApplicationFailure';
  if (error instanceof Error) return error.name;
  return 'Error';
}

/**
 * A compensation has no attempt limit: it only fails for good on a non-retryable failure, which the
 * workflow then records as `failed`. Retryable attempts that fail count in activity failures only.
 */
function failsForGood(error: unknown): boolean {
  return error instanceof ApplicationFailure && error.nonRetryable === true;
}

export function activityMetricsInterceptor(metrics: WorkerMetrics): ActivityInterceptorsFactory {
  return (ctx: Context) => ({ inbound: new ActivityMetricsInbound(ctx, metrics) });
}

class ActivityMetricsInbound implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly metrics: WorkerMetrics,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const activity = this.ctx.info.activityType;
    const step = sagaStepOfActivity[activity];
    const stopTimer = step ? this.metrics.sagaStepDuration.startTimer({ step }) : undefined;
    try {
      const result = await next(input);
      stopTimer?.({ outcome: 'completed' });
      if (step && compensationSteps.has(step)) this.metrics.sagaCompensations.inc({ step, outcome: 'done' });
      if (activity === 'recordOrderOutcome') this.recordOutcome(input.args[0]);
      return result;
    } catch (error) {
      stopTimer?.({ outcome: 'failed' });
      this.metrics.activityFailures.inc({ activity, type: failureType(error) });
      if (step && compensationSteps.has(step) && failsForGood(error)) {
        this.metrics.sagaCompensations.inc({ step, outcome: 'failed' });
      }
      throw error;
    }
  }

  /**
   * Counted when the outcome is written. Like any activity effect this is at least once: a worker
   * that crashes after the write and before reporting it runs the activity, and counts, again.
   */
  private recordOutcome(arg: unknown): void {
    const status = (arg as { status?: unknown } | undefined)?.status;
    if (typeof status === 'string' && isOrderStatus(status)) this.metrics.ordersCompleted.inc({ status });
  }
}
