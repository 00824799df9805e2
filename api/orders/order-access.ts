import type { Principal } from '../access/principal';
import { actsForCustomer, actsForSeller } from '../access/access';
import type { AppDeps } from '../deps';
import { sqlPoolOf } from '../../platform/sql-pool';
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
export type OrderLookupDeps = Pick<AppDeps, 'db'> & Partial<Pick<AppDeps, 'temporal' | 'orderCustomers'>>;

/**
 * The customer who placed an order, wherever it is known first: the read model, the order's first
 * event, or (accepted but not yet recorded) the input its workflow was started with.
 */
export async function orderCustomerId(deps: OrderLookupDeps, orderId: string): Promise<string | undefined> {
  const key = orderId.toLowerCase();
  const known = deps.orderCustomers?.get(key);
  if (known !== undefined) return known;
  const found = await lookUpOrderCustomer(deps, orderId);
  if (found !== undefined) deps.orderCustomers?.set(key, found);
  return found;
}

async function lookUpOrderCustomer(deps: OrderLookupDeps, orderId: string): Promise<string | undefined> {
  // The read model, else the order's first event, in one round trip.
  const { rows } = await sqlPoolOf(deps.db).query<{ customer_id: string }>({
    name: 'order-customer',
    text: `(SELECT customer_id::text FROM read_models.orders_read WHERE order_id = $1::uuid)
           UNION ALL
           (SELECT payload->>'customerId' FROM domain_events WHERE aggregate_id = $1::uuid AND version = 1)
           LIMIT 1`,
    values: [orderId],
  });
  const fromStore = rows[0]?.customer_id;
  if (typeof fromStore === 'string') return fromStore;
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
