import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { orderWorkflowId } from '../../domain/ids';
import type { TemporalClient } from '../../platform/temporal';
import {
  orderStateQuery,
  type OrderSagaState,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
} from '../../workflows/orders/order-contract';
import type { AppDeps } from '../deps';

/** The API's handles on order workflows: starting, finding and asking them. */

/** The order workflow's signature, named here so the API never imports workflow code. */
export type OrderWorkflow = (input: OrderWorkflowInput) => Promise<OrderWorkflowResult>;
export const ORDER_WORKFLOW_TYPE = 'orderWorkflow';
const SAGA_QUERY_DEADLINE_MS = 1_000;

export function orderHandle(temporal: TemporalClient, orderId: string): WorkflowHandle<OrderWorkflow> {
  return temporal.client.workflow.getHandle<OrderWorkflow>(orderWorkflowId(orderId));
}

export async function workflowExists(handle: WorkflowHandle): Promise<boolean> {
  try {
    await handle.describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** The input of an order workflow that exists, or undefined when there is none. */
export async function startedInput(
  { temporal }: Pick<AppDeps, 'temporal'>,
  orderId: string,
): Promise<OrderWorkflowInput | undefined> {
  try {
    const { history } = await temporal.client.workflowService.getWorkflowExecutionHistory({
      namespace: temporal.client.options.namespace,
      execution: { workflowId: orderWorkflowId(orderId) },
      maximumPageSize: 1,
    });
    const payloads = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (!payloads) return undefined;
    return await decodeFromPayloadsAtIndex<OrderWorkflowInput>(
      temporal.client.options.loadedDataConverter,
      0,
      payloads,
    );
  } catch (error) {
    if ((error as { code?: unknown }).code === 5 /* gRPC NOT_FOUND */) return undefined;
    throw error;
  }
}

/**
 * The saga's state when a worker answers within a second; undefined otherwise, so a read never
 * hangs on a workflow whose worker is busy or away.
 */
export async function sagaStateIfQuick(
  { temporal }: AppDeps,
  handle: WorkflowHandle,
): Promise<OrderSagaState | undefined> {
  try {
    return await temporal.client.withDeadline(Date.now() + SAGA_QUERY_DEADLINE_MS, () => handle.query(orderStateQuery));
  } catch {
    return undefined;
  }
}
