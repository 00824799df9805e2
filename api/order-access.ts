import type { Principal } from './principal';
import { actsForCustomer, actsForSeller } from './access';
import type { AppDeps } from './deps';
import { readEvents } from '../lib/event-store';
import { startedInput } from './order-workflows';

/** The parties of an order as its views show them. */
export interface OrderParties {
  customerId: string;
  lines: readonly { sellerId: string }[];
}

/** Whether the caller may read this order: its customer, a seller with a line in it, or an operator. */
export function mayReadOrder(principal: Principal, order: OrderParties): boolean {
  if (principal.role === 'seller') return order.lines.some((line) => actsForSeller(principal, line.sellerId));
  return actsForCustomer(principal, order.customerId);
}

/** What finding an order's customer needs; without Temporal, an order not yet recorded is not found. */
export type OrderLookupDeps = Pick<AppDeps, 'db'> & Partial<Pick<AppDeps, 'temporal'>>;

/**
 * The customer who placed an order, wherever it is known first: the read model, the order's first
 * event, or (accepted but not yet recorded) the input its workflow was started with.
 */
export async function orderCustomerId(deps: OrderLookupDeps, orderId: string): Promise<string | undefined> {
  const [row] = await deps.db.$queryRawUnsafe<{ customer_id: string }[]>(
    'SELECT customer_id::text FROM read_models.orders_read WHERE order_id = $1::uuid',
    orderId,
  );
  if (row) return row.customer_id;
  const [placed] = await readEvents(deps.db, orderId, { afterVersion: 0, limit: 1 });
  const fromEvent = (placed?.payload as { customerId?: unknown } | undefined)?.customerId;
  if (typeof fromEvent === 'string') return fromEvent;
  return deps.temporal ? (await startedInput({ temporal: deps.temporal }, orderId))?.customerId : undefined;
}

/** Whether the caller acts for the order's customer (operators for every order); false for no order. */
export async function actsForOrderCustomer(
  deps: OrderLookupDeps,
  principal: Principal,
  orderId: string,
): Promise<boolean> {
  if (principal.role === 'operator') return true;
  const customerId = await orderCustomerId(deps, orderId);
  return customerId !== undefined && actsForCustomer(principal, customerId);
}
