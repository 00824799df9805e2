/**
 * Ids derived from business ids. Every workflow id, task queue key or stream name is built
 * here, so the mapping from a business object to its Temporal execution is in one place.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function probeWorkflowId(probeId: string): string {
  return `probe-${probeId}`;
}

/** The probe id of a probe workflow id, or undefined when the id is not one. */
export function probeIdFromWorkflowId(workflowId: string): string | undefined {
  const match = /^probe-(.+)$/.exec(workflowId);
  return match?.[1] !== undefined && isUuid(match[1]) ? match[1] : undefined;
}

/** The idempotency key of one step of one workflow: a retried activity reuses it. */
export function stepIdempotencyKey(workflowId: string, step: string): string {
  return `${workflowId}:${step}`;
}

/** One workflow per order: the workflow id is derived from the order id, so a duplicate cannot start a second saga. */
export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

/** The order id of an order workflow id, or undefined when the id is not one. */
export function orderIdFromWorkflowId(workflowId: string): string | undefined {
  const match = /^order-(.+)$/.exec(workflowId);
  return match?.[1] !== undefined && isUuid(match[1]) ? match[1] : undefined;
}
