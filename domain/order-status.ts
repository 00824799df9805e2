/**
 * The order's lifecycle. The workflow, the projections and the API all ask this module whether a
 * move is allowed, so a status can never be reached by one path and refused by another.
 */

export const orderStatuses = [
  'PENDING',
  'INVENTORY_RESERVED',
  'PAID',
  'SHIPPED',
  'DELIVERED',
  'CANCELLED',
  'FAILED',
] as const;

export type OrderStatus = (typeof orderStatuses)[number];

/** Where an order ends: no move leads out of these (the transitions below agree; a unit test checks). */
export const terminalStatuses = ['DELIVERED', 'CANCELLED', 'FAILED'] as const satisfies readonly OrderStatus[];

export type TerminalStatus = (typeof terminalStatuses)[number];

/** How a status reads to a customer ("my orders" pages show these). */
export const orderStatusLabels: Readonly<Record<OrderStatus, string>> = {
  PENDING: 'Received',
  INVENTORY_RESERVED: 'Being prepared',
  PAID: 'Paid, awaiting shipment',
  SHIPPED: 'On its way',
  DELIVERED: 'Delivered',
  CANCELLED: 'Cancelled',
  FAILED: 'Could not be completed',
};

// Once goods are shipped the order can only be delivered: undoing a shipment is a return, not a cancel.
const transitions: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: ['INVENTORY_RESERVED', 'FAILED', 'CANCELLED'],
  INVENTORY_RESERVED: ['PAID', 'FAILED', 'CANCELLED'],
  PAID: ['SHIPPED', 'FAILED', 'CANCELLED'],
  SHIPPED: ['DELIVERED'],
  DELIVERED: [],
  CANCELLED: [],
  FAILED: [],
};

/** For statuses read back from rows, query strings or payloads. */
export function isOrderStatus(value: string): value is OrderStatus {
  return (orderStatuses as readonly string[]).includes(value);
}

export function isTerminal(status: OrderStatus): status is TerminalStatus {
  return (terminalStatuses as readonly OrderStatus[]).includes(status);
}

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return transitions[from].includes(to);
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) throw new Error(`order status cannot change from ${from} to ${to}`);
}

/**
 * Why a customer may not cancel, in words the API can return as is; undefined when they may.
 * A shipment already created with a carrier cannot be called back, even before it is SHIPPED.
 */
export function cancellationRefusal(status: OrderStatus, shipmentsCreated: boolean): string | undefined {
  if (!canTransition(status, 'CANCELLED')) return `order is already ${status}`;
  if (shipmentsCreated) return 'shipments have already been created';
  return undefined;
}
