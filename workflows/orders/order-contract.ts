import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderStatus } from '../../domain/order-status';
import type { PricedOrder } from '../../domain/pricing';
import type { ShippingAddress } from '../../domain/shipping-address';

/**
 * What the outside world (API, CLI, tests) may say to an order workflow and what it answers.
 * Kept apart from the workflow function so clients import names and types, not the saga.
 * Inputs and results are named types with optional additions only: a new field never breaks
 * the replay of an older history.
 */

export type { ShippingAddress };

export interface OrderWorkflowInput {
  orderId: string;
  customerId: string;
  /** Priced by the server from the catalogue when the order was accepted. */
  order: PricedOrder;
  shippingAddress: ShippingAddress;
  payment: { token: string };
  /** How long to wait for every shipment's delivery before flagging the order as overdue. */
  deliveryTimeoutMs: number;
  /** When the API accepted the order (ISO 8601). */
  acceptedAt: string;
  /**
   * The wait for delivery can receive any number of carrier callbacks; past this many history
   * events the workflow continues as new, carrying its state (default `CONTINUE_AS_NEW_AFTER_EVENTS`).
   */
  continueAsNewAfterEvents?: number;
  /** Set by a run that continued as new: the saga is done, only the wait for delivery goes on. */
  resumedFrom?: ResumedOrder;
}

export interface ResumedOrder {
  state: OrderSagaState;
  /** Epoch milliseconds by which every shipment should be delivered. */
  deliveryDeadline: number;
  /** Carrier callbacks received but not yet recorded. */
  reportedDeliveries: ShipmentDelivered[];
}

/** Temporal warns from 10,240 events; continuing as new well before keeps replays fast. */
export const CONTINUE_AS_NEW_AFTER_EVENTS = 5_000;

export type SagaStepName =
  | 'record-order'
  | 'reserve-inventory'
  | 'take-payment'
  | 'create-shipments'
  | 'await-delivery'
  | 'compensating'
  | 'completed'
  | 'delivery-overdue';

export type CompensationName = 'cancel-shipments' | 'refund-payment' | 'release-inventory';

export interface CompensationRecord {
  name: CompensationName;
  outcome: 'done' | 'failed';
  error?: string;
}

export interface OrderFailure {
  step: SagaStepName;
  /** A stable type (domain/order-errors.ts) for business failures, else the error's type. */
  type: string;
  message: string;
}

export interface ShipmentState {
  shipmentId: string;
  sellerId: string;
  trackingNumber: string;
  delivered: boolean;
}

export interface OrderSagaState {
  orderId: string;
  status: OrderStatus;
  step: SagaStepName;
  completedSteps: SagaStepName[];
  compensations: CompensationRecord[];
  failure?: OrderFailure;
  cancellation?: { requestedAt: string; reason: string };
  shipments: ShipmentState[];
}

export type OrderWorkflowResult = Pick<OrderSagaState, 'orderId' | 'status' | 'compensations' | 'failure'>;

export interface CancelOrderRequest {
  reason?: string;
}
export type CancelOrderResponse = { accepted: true; status: OrderStatus } | { accepted: false; reason: string };

export interface ShipmentDelivered {
  shipmentId: string;
  deliveredAt: string;
}

export const orderStateQuery = defineQuery<OrderSagaState>('orderState');
/** Accepted while no shipment exists; the saga then stops at its next step and undoes what it did. */
export const cancelOrderUpdate = defineUpdate<CancelOrderResponse, [CancelOrderRequest]>('cancelOrder');
/** The carrier's callback (POST /v1/shipments/{id}/delivered), relayed by the API. */
export const shipmentDeliveredSignal = defineSignal<[ShipmentDelivered]>('shipmentDelivered');
