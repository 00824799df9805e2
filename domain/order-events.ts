/**
 * What happened to an order, as domain events, and the pure reducer that turns a stream of them
 * into the order's state. The event store keeps these; rebuilding an order (now, or as of an
 * earlier version or time) is a fold of `applyOrderEvent` over them.
 */
import { canTransition, type OrderStatus } from './order-status';
import type { PricedLine } from './pricing';
import type { ShippingAddress } from './shipping-address';

export const ORDER_AGGREGATE = 'order';

/** A priced line as the order recorded it. */
export type OrderEventLine = PricedLine;

export interface StockLine {
  productId: string;
  quantity: number;
}

export interface OrderTotals {
  itemCount: number;
  subtotalMinor: number;
  commissionMinor: number;
  totalMinor: number;
}

export type OrderEventAddress = ShippingAddress;

export interface EventShipment {
  shipmentId: string;
  sellerId: string;
  trackingNumber: string;
  carrier: string;
}

export interface OrderEventPayloads {
  OrderPlaced: {
    customerId: string;
    workflowId: string;
    currency: string;
    lines: OrderEventLine[];
    totals: OrderTotals;
    shippingAddress: OrderEventAddress;
  };
  InventoryReserved: { lines: StockLine[] };
  InventoryReleased: { lines: StockLine[] };
  PaymentCaptured: { paymentId: string; amountMinor: number; currency: string };
  PaymentRefunded: { paymentId: string; amountMinor: number };
  ShipmentsCreated: { shipments: EventShipment[] };
  ShipmentsCancelled: { shipmentIds: string[] };
  ShipmentDelivered: { shipmentId: string; deliveredAt: string };
  OrderDelivered: Record<string, never>;
  OrderFailed: { reason: string };
  OrderCancelled: { reason: string };
}

export type OrderEventType = keyof OrderEventPayloads;

export type OrderEvent = { [T in OrderEventType]: { type: T; payload: OrderEventPayloads[T] } }[OrderEventType];

export const orderEventTypes = [
  'OrderPlaced',
  'InventoryReserved',
  'InventoryReleased',
  'PaymentCaptured',
  'PaymentRefunded',
  'ShipmentsCreated',
  'ShipmentsCancelled',
  'ShipmentDelivered',
  'OrderDelivered',
  'OrderFailed',
  'OrderCancelled',
] as const satisfies readonly OrderEventType[];

/** Builds one event with its payload type checked against its name. */
export function orderEvent<T extends OrderEventType>(type: T, payload: OrderEventPayloads[T]): OrderEvent {
  return { type, payload } as OrderEvent;
}

export type InventoryHold = 'NONE' | 'RESERVED' | 'CONSUMED' | 'RELEASED';

/** The order as its events tell it. Plain JSON, so it can be stored as a snapshot as is. */
export interface OrderState {
  customerId: string;
  workflowId: string;
  status: OrderStatus;
  currency: string;
  lines: OrderEventLine[];
  totals: OrderTotals;
  shippingAddress: OrderEventAddress;
  inventory: { hold: InventoryHold; lines: StockLine[] };
  payment: { paymentId: string; amountMinor: number; status: 'CAPTURED' | 'REFUNDED' } | null;
  shipments: (EventShipment & { status: 'CREATED' | 'DELIVERED' | 'CANCELLED'; deliveredAt: string | null })[];
  failureReason: string | null;
  cancellationReason: string | null;
}

/** An event that does not fit the state it is applied to: the stream is corrupt or out of order. */
export class InvalidOrderEvent extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidOrderEvent';
  }
}

/**
 * The state after `event`. Pure: the input state is never changed. A status change follows the
 * order's state machine; an event the machine forbids throws, since it cannot have been appended
 * by a correct writer.
 */
export function applyOrderEvent(state: OrderState | undefined, event: OrderEvent): OrderState {
  if (event.type === 'OrderPlaced') {
    if (state) throw new InvalidOrderEvent('OrderPlaced on an order that already exists');
    const p = event.payload;
    return {
      customerId: p.customerId,
      workflowId: p.workflowId,
      status: 'PENDING',
      currency: p.currency,
      lines: p.lines.map((line) => ({ ...line })),
      totals: { ...p.totals },
      shippingAddress: { ...p.shippingAddress },
      inventory: { hold: 'NONE', lines: [] },
      payment: null,
      shipments: [],
      failureReason: null,
      cancellationReason: null,
    };
  }
  if (!state) throw new InvalidOrderEvent(`${event.type} before OrderPlaced`);

  switch (event.type) {
    case 'InventoryReserved':
      return {
        ...moveTo(state, 'INVENTORY_RESERVED', event.type),
        inventory: { hold: 'RESERVED', lines: event.payload.lines.map((l) => ({ ...l })) },
      };
    case 'InventoryReleased':
      return { ...state, inventory: { hold: 'RELEASED', lines: event.payload.lines.map((l) => ({ ...l })) } };
    case 'PaymentCaptured':
      return {
        ...moveTo(state, 'PAID', event.type),
        payment: { paymentId: event.payload.paymentId, amountMinor: event.payload.amountMinor, status: 'CAPTURED' },
      };
    case 'PaymentRefunded':
      if (!state.payment) throw new InvalidOrderEvent('PaymentRefunded without a captured payment');
      return { ...state, payment: { ...state.payment, status: 'REFUNDED' } };
    case 'ShipmentsCreated':
      return {
        ...moveTo(state, 'SHIPPED', event.type),
        inventory: { ...state.inventory, hold: 'CONSUMED' },
        shipments: [
          ...state.shipments,
          ...event.payload.shipments.map((s) => ({ ...s, status: 'CREATED' as const, deliveredAt: null })),
        ],
      };
    case 'ShipmentsCancelled': {
      const cancelled = new Set(event.payload.shipmentIds);
      return {
        ...state,
        inventory: { ...state.inventory, hold: 'RESERVED' },
        shipments: state.shipments.map((s) => (cancelled.has(s.shipmentId) ? { ...s, status: 'CANCELLED' } : s)),
      };
    }
    case 'ShipmentDelivered': {
      const { shipmentId, deliveredAt } = event.payload;
      if (!state.shipments.some((s) => s.shipmentId === shipmentId)) {
        throw new InvalidOrderEvent(`ShipmentDelivered for unknown shipment ${shipmentId}`);
      }
      return {
        ...state,
        shipments: state.shipments.map((s) =>
          s.shipmentId === shipmentId ? { ...s, status: 'DELIVERED', deliveredAt } : s,
        ),
      };
    }
    case 'OrderDelivered':
      return moveTo(state, 'DELIVERED', event.type);
    case 'OrderFailed':
      return { ...moveTo(state, 'FAILED', event.type), failureReason: event.payload.reason };
    case 'OrderCancelled':
      return { ...moveTo(state, 'CANCELLED', event.type), cancellationReason: event.payload.reason };
  }
}

/** Folds events over a starting state (a snapshot's, or none). */
export function replayOrderEvents(events: readonly OrderEvent[], from?: OrderState): OrderState | undefined {
  return events.reduce<OrderState | undefined>((state, event) => applyOrderEvent(state, event), from);
}

export function isOrderEventType(value: string): value is OrderEventType {
  return (orderEventTypes as readonly string[]).includes(value);
}

function moveTo(state: OrderState, to: OrderStatus, because: OrderEventType): OrderState {
  if (state.status === to) return state;
  if (!canTransition(state.status, to)) {
    throw new InvalidOrderEvent(`${because} cannot move an order from ${state.status} to ${to}`);
  }
  return { ...state, status: to };
}
