/**
 * The one-line summary shown for an order workflow in the Temporal Web UI, so an operator can tell
 * executions apart without opening their input.
 */
import { formatMoney, money } from './money';

export interface OrderSummaryInput {
  itemCount: number;
  totalMinor: number;
  currency: string;
  customerId: string;
}

export function orderSummary({ itemCount, totalMinor, currency, customerId }: OrderSummaryInput): string {
  if (!Number.isSafeInteger(itemCount) || itemCount < 0) {
    throw new RangeError(`itemCount must be a non-negative integer, got ${String(itemCount)}`);
  }
  const items = itemCount === 1 ? '1 item' : `${itemCount} items`;
  return `${items} · ${formatMoney(money(totalMinor, currency))} · customer ${customerId}`;
}
