import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { InventoryActivities } from '../../activities/inventory';
import type { OrderActivities } from '../../activities/orders/orders';
import type { PaymentActivities } from '../../activities/payments/payments';
import type { ShippingActivities } from '../../activities/shipping/shipping';
import { stepIdempotencyKey } from '../../domain/ids';
import { OrderFailureType } from '../../domain/order-errors';
import type { OrderStatus } from '../../domain/order-status';
import { cancellationRefusal } from '../../domain/order-status';
import { compensationOptions, stepOptions } from '../activity-options';
import {
  cancelOrderUpdate,
  CONTINUE_AS_NEW_AFTER_EVENTS,
  orderStateQuery,
  shipmentDeliveredSignal,
  type CompensationName,
  type OrderFailure,
  type OrderSagaState,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
  type SagaStepName,
  type ShipmentDelivered,
} from './order-contract';
import { OrderStatus as OrderStatusAttribute, SagaStep } from './search-attributes';

type SagaActivities = OrderActivities & InventoryActivities & PaymentActivities & ShippingActivities;
const steps = proxyActivities<SagaActivities>(stepOptions);
const undo = proxyActivities<SagaActivities>(compensationOptions);
const localSteps = proxyLocalActivities<OrderActivities & InventoryActivities>(stepOptions);
const localUndo = proxyLocalActivities<OrderActivities & InventoryActivities>(compensationOptions);
const localShipping = proxyLocalActivities<ShippingActivities>(stepOptions);

/** Patch: the step that records the last deliveries also closes the order (see awaitDelivery). */
const LAST_DELIVERY_CLOSES_ORDER = 'last-delivery-closes-order';
/**
 * Patch: a step's new status and the next step go to the search attributes in one upsert, and the
 * first step (set when the workflow started) is not upserted again. Each upsert is a history event
 * and a visibility write on the server; within one workflow task only the last values were ever
 * visible, so operators see the same states as before.
 */
const ONE_UPSERT_PER_TRANSITION = 'one-upsert-per-transition';

/**
 * Patch: recording the order and reserving its stock are one local activity and one transaction
 * (recordOrderAndReserveInventory), one activation and one commit fewer on every order. Out of
 * stock, the order stays recorded, as it did when they were two steps.
 */
const RECORD_AND_RESERVE_IN_ONE_STEP = 'record-and-reserve-in-one-step';

/**
 * Patch: shipments are booked by a local activity, in the workflow task that saw the payment
 * through, instead of an activity of their own (three history events, a task on the queue and a
 * workflow task fewer per order). Booking cannot be cancelled once begun (the customer's
 * cancellation is refused from this step on), so holding the workflow task while it runs holds
 * back nothing a customer can do; a query made meanwhile is answered when the step ends, or at the
 * worker's next workflow-task heartbeat if it runs long. The payment stays an activity: a customer
 * may cancel while a slow charge is in flight, and operators see the saga waiting on it.
 */
const SHIPMENTS_BOOKED_LOCALLY = 'shipments-booked-locally';

/** Thrown by the saga itself at a step boundary once the customer's cancellation was accepted. */
class CancellationRequested extends Error {}

/**
 * The order's durable actor: the fulfilment saga, then the wait for delivery.
 *
 *   record order -> reserve inventory -> take payment -> create shipments -> await delivery
 *
 * When a step fails (or the customer cancels before shipping), what was done is undone in
 * reverse order: cancel shipments, refund payment, release inventory. Compensation runs in a
 * non-cancellable scope, so it completes even when the workflow itself is cancelled.
 *
 * Every step's input names the customer: the order's rows are on the customer's shard, and the
 * activity routes by it (activities/orders/order-database.ts). A new field in an input changes no
 * command (the same activities are scheduled in the same order, and replay does not compare
 * inputs), so recorded histories replay without a patch; their steps' inputs, without it, are
 * routed by looking the order's customer up.
 */
export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  const { orderId, order, customerId } = input;
  const workflowId = workflowInfo().workflowId;
  const state: OrderSagaState = input.resumedFrom?.state ?? {
    orderId,
    status: 'PENDING',
    step: 'record-order',
    completedSteps: [],
    compensations: [],
    shipments: [],
  };
  const compensations: { name: CompensationName; run: () => Promise<unknown> }[] = [];
  const deliveries = new Map<string, ShipmentDelivered>(
    (input.resumedFrom?.reportedDeliveries ?? []).map((d) => [d.shipmentId, d]),
  );
  let shipmentsBooked = false;
  let orderRecorded = false;

  setHandler(orderStateQuery, () => state);
  setHandler(cancelOrderUpdate, ({ reason }) => {
    const refusal = cancellationRefusal(state.status, shipmentsBooked);
    if (refusal !== undefined) return { accepted: false, reason: refusal };
    state.cancellation ??= { requestedAt: new Date().toISOString(), reason: reason ?? 'cancelled by the customer' };
    return { accepted: true, status: state.status };
  });
  setHandler(shipmentDeliveredSignal, (delivery) => {
    if (!deliveries.has(delivery.shipmentId)) deliveries.set(delivery.shipmentId, delivery);
  });

  // Asked once, at the first transition: executions begun before the patch keep their upserts.
  let oneUpsert: boolean | undefined;
  const oneUpsertPerTransition = (): boolean => (oneUpsert ??= patched(ONE_UPSERT_PER_TRANSITION));
  // With the patch, a new status waits for the step that follows it and goes with it; a step
  // entered by a local step whose next transition follows within the same workflow task (`held`)
  // is not sent at all, as the server would only ever show the later values (the next transition
  // always names its step).
  let pendingStatus: OrderStatus | undefined;
  const enter = (step: SagaStepName, options: { held?: boolean } = {}): void => {
    const first = state.step === step && state.completedSteps.length === 0;
    if (state.step !== step && !state.completedSteps.includes(state.step)) state.completedSteps.push(state.step);
    state.step = step;
    if (!oneUpsertPerTransition()) {
      upsertSearchAttributes([{ key: SagaStep, value: step }]);
      return;
    }
    // The workflow started with its first step and status: nothing to tell the server.
    if (first || options.held) return;
    upsertSearchAttributes([
      ...(pendingStatus !== undefined ? [{ key: OrderStatusAttribute, value: pendingStatus }] : []),
      { key: SagaStep, value: step },
    ]);
    pendingStatus = undefined;
  };
  const setStatus = (status: OrderStatus): void => {
    state.status = status;
    if (oneUpsertPerTransition()) pendingStatus = status;
    else upsertSearchAttributes([{ key: OrderStatusAttribute, value: status }]);
  };
  const stopIfCancelled = (): void => {
    if (state.cancellation) throw new CancellationRequested();
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('workflow cancelled');
  };
  // A step, once begun, runs to its end even if the workflow is cancelled meanwhile: abandoning a
  // charge in flight could leave money taken with no refund registered. Cancellation is acted on
  // between steps, where every effect so far has its compensation.
  const step = <T>(run: () => Promise<T>): Promise<T> => CancellationScope.nonCancellable(run);
  const sellerKeys = order.sellers.map((seller) => ({
    sellerId: seller.sellerId,
    idempotencyKey: stepIdempotencyKey(workflowId, `create-shipment:${seller.sellerId}`),
  }));

  // A run continued from an earlier one: the saga is behind it, only the delivery wait remains.
  if (input.resumedFrom) return awaitDelivery(input.resumedFrom.deliveryDeadline);

  try {
    enter('record-order');
    const record = {
      orderId,
      workflowId,
      customerId,
      order,
      shippingAddress: input.shippingAddress,
    };
    const lines = order.lines.map(({ productId, quantity }) => ({ productId, quantity }));
    if (patched(RECORD_AND_RESERVE_IN_ONE_STEP)) {
      try {
        await step(() => localSteps.recordOrderAndReserveInventory({ ...record, lines }));
      } catch (error) {
        // Short of stock, the step committed the order before it refused the reservation: the
        // order exists, and the failure is the reservation's, as when they were two steps.
        if (failureTypeOf(error) === OrderFailureType.OutOfStock) {
          orderRecorded = true;
          enter('reserve-inventory', { held: true });
        }
        throw error;
      }
      orderRecorded = true;
      // Operators see the same steps as before: both are done, in this workflow task.
      enter('reserve-inventory', { held: true });
    } else {
      await step(() => localSteps.recordOrder(record));
      orderRecorded = true;
      stopIfCancelled();

      // Reserving is local, like recording: the next transition is in this workflow task too.
      enter('reserve-inventory', { held: true });
      await step(() => localSteps.reserveInventory({ orderId, customerId, lines }));
    }
    compensations.push({ name: 'release-inventory', run: () => localUndo.releaseInventory({ orderId, customerId }) });
    setStatus('INVENTORY_RESERVED');
    stopIfCancelled();

    enter('take-payment');
    await step(() =>
      steps.chargePayment({
        orderId,
        customerId,
        amountMinor: order.totalMinor,
        currency: order.currency,
        token: input.payment.token,
        idempotencyKey: stepIdempotencyKey(workflowId, 'take-payment'),
      }),
    );
    compensations.push({
      name: 'refund-payment',
      run: () =>
        undo.refundPayment({ orderId, customerId, idempotencyKey: stepIdempotencyKey(workflowId, 'refund-payment') }),
    });
    setStatus('PAID');
    stopIfCancelled();

    enter('create-shipments');
    shipmentsBooked = true;
    // Registered before the step: booking is one call per seller, so a failure may leave some booked.
    compensations.push({
      name: 'cancel-shipments',
      run: () => undo.cancelShipments({ orderId, customerId, sellers: sellerKeys }),
    });
    const createShipments = patched(SHIPMENTS_BOOKED_LOCALLY) ? localShipping.createShipments : steps.createShipments;
    const { shipments } = await step(() =>
      createShipments({
        orderId,
        customerId,
        address: input.shippingAddress,
        sellers: order.sellers.map((seller, index) => ({
          sellerId: seller.sellerId,
          idempotencyKey: sellerKeys[index]!.idempotencyKey,
          parcels: order.lines
            .filter((line) => line.sellerId === seller.sellerId)
            .map(({ productId, quantity }) => ({ productId, quantity })),
        })),
      }),
    );
    state.shipments = shipments.map((s) => ({ ...s, delivered: false }));
    setStatus('SHIPPED');
  } catch (error) {
    const outcome = await CancellationScope.nonCancellable(() => unwind(error));
    // An operator's cancellation closes the workflow as cancelled; a customer's is a normal end.
    if (isCancellation(error)) throw error;
    return outcome;
  }

  return awaitDelivery(Date.now() + input.deliveryTimeoutMs);

  async function unwind(error: unknown): Promise<OrderWorkflowResult> {
    const cancelled = error instanceof CancellationRequested || isCancellation(error);
    if (!cancelled) state.failure = describeFailure(state.step, error);
    if (cancelled && !state.cancellation) {
      state.cancellation = { requestedAt: new Date().toISOString(), reason: 'workflow cancelled by an operator' };
    }
    enter('compensating');
    for (const compensation of compensations.reverse()) {
      try {
        await compensation.run();
        state.compensations.push({ name: compensation.name, outcome: 'done' });
      } catch (compensationError) {
        state.compensations.push({ name: compensation.name, outcome: 'failed', error: messageOf(compensationError) });
      }
    }
    const status = cancelled ? 'CANCELLED' : 'FAILED';
    // Without a recorded order (its first step failed) the outcome lives in the workflow alone.
    if (orderRecorded) {
      await localUndo.recordOrderOutcome({
        orderId,
        customerId,
        status,
        reason: cancelled ? state.cancellation?.reason : state.failure?.message,
      });
    }
    setStatus(status);
    enter('completed');
    return result();
  }

  async function awaitDelivery(deadline: number): Promise<OrderWorkflowResult> {
    if (!input.resumedFrom) enter('await-delivery');
    const undelivered = () => state.shipments.filter((s) => !s.delivered);
    const reported = () => undelivered().filter((s) => deliveries.has(s.shipmentId));
    const historyLimit = input.continueAsNewAfterEvents ?? CONTINUE_AS_NEW_AFTER_EVENTS;
    const historyTooLong = () => workflowInfo().historyLength >= historyLimit;
    let closedByLastDelivery = false;
    while (undelivered().length > 0) {
      const remainingMs = deadline - Date.now();
      if (remainingMs > 0 && historyTooLong() && reported().length === 0) {
        // Temporal's form of a snapshot: a fresh history that starts from the state reached so far.
        const reportedDeliveries = [...deliveries.values()].filter((d) =>
          undelivered().some((s) => s.shipmentId === d.shipmentId),
        );
        return continueAsNew<typeof orderWorkflow>({
          ...input,
          resumedFrom: { state, deliveryDeadline: deadline, reportedDeliveries },
        });
      }
      if (remainingMs <= 0 || !(await condition(() => reported().length > 0 || historyTooLong(), remainingMs))) {
        // Goods are on their way and cannot be un-shipped: the order stays SHIPPED, flagged for an operator.
        enter('delivery-overdue');
        return result();
      }
      const batch = reported();
      if (batch.length === 0) continue; // woken because the history grew: continue as new above
      // The last deliveries close the order in the same step (executions begun before this patch
      // close it with a step of its own, below).
      const last = batch.length === undelivered().length && patched(LAST_DELIVERY_CLOSES_ORDER);
      await localSteps.recordDeliveries({
        orderId,
        customerId,
        deliveries: batch.map((s) => deliveries.get(s.shipmentId)!),
        ...(last ? { closeOrder: true } : {}),
      });
      for (const shipment of batch) shipment.delivered = true;
      closedByLastDelivery = last;
    }
    if (!closedByLastDelivery) await localUndo.recordOrderOutcome({ orderId, customerId, status: 'DELIVERED' });
    setStatus('DELIVERED');
    enter('completed');
    return result();
  }

  function result(): OrderWorkflowResult {
    return { orderId, status: state.status, compensations: state.compensations, failure: state.failure };
  }
}

/** What failed: the activity's own error for an activity failure, else the error itself. */
function causeOf(error: unknown): unknown {
  return error instanceof ActivityFailure ? error.cause : error;
}

/** The ApplicationFailure type behind an activity's failure, if any. */
function failureTypeOf(error: unknown): string | undefined {
  const cause = causeOf(error);
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function describeFailure(step: SagaStepName, error: unknown): OrderFailure {
  const cause = causeOf(error);
  if (cause instanceof ApplicationFailure)
    return { step, type: cause.type ?? 'ApplicationFailure', message: cause.message };
  if (cause instanceof Error) return { step, type: cause.name, message: cause.message };
  return { step, type: 'Error', message: String(cause) };
}

function messageOf(error: unknown): string {
  const cause = causeOf(error);
  return cause instanceof Error ? cause.message : String(cause);
}
