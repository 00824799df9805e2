import { Context } from '@temporalio/activity';
import { orderWorkflowId, stepIdempotencyKey } from '../../domain/ids';
import { ORDER_AGGREGATE, type OrderEvent } from '../../domain/order-events';
import { appendEvents, type AppendResult, type Correlation } from '../../events/event-store';
import type { Tx } from './order-store';

/**
 * How order activities record what they changed: the order's events, appended in the activity's
 * own transaction after `lockOrder`, so the head appended on is the one the lock protects and the
 * write-model change, its events and its outbox rows commit together.
 */

export interface EventLogDeps {
  /** Save the order's state every this many events (config SNAPSHOT_EVERY). */
  snapshotEvery?: number;
}

/**
 * The running activity's workflow, run and type (local activities too); outside an activity (a
 * test or a script calling the function) the order's workflow id stands in and the rest is unset.
 */
export function activityCorrelation(orderId: string, step: string, causationKey?: string): Correlation {
  let info: ReturnType<typeof Context.current>['info'] | undefined;
  try {
    info = Context.current().info;
  } catch {
    info = undefined;
  }
  const execution = info?.workflowExecution;
  const workflowId = execution?.workflowId ?? orderWorkflowId(orderId);
  return {
    workflowId,
    ...(execution ? { runId: execution.runId } : {}),
    ...(info ? { activity: info.activityType } : {}),
    causationKey: causationKey ?? stepIdempotencyKey(workflowId, step),
  };
}

/** Appends `events` to the locked order; nothing to append (a retry, a no-op) appends nothing. */
export async function appendOrderEvents(
  tx: Tx,
  orderId: string,
  correlation: Correlation,
  events: OrderEvent[],
  deps: EventLogDeps,
): Promise<AppendResult | undefined> {
  if (events.length === 0) return undefined;
  return appendEvents(
    tx,
    { aggregateType: ORDER_AGGREGATE, aggregateId: orderId, expectedVersion: undefined, events, correlation },
    deps.snapshotEvery !== undefined ? { snapshotEvery: deps.snapshotEvery } : {},
  );
}
