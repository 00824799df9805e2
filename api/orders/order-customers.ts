import { LRUCache } from 'lru-cache';

/**
 * Whose each order is, as this process has learnt it. An order's customer never changes, so the
 * answer can be kept: a client that follows the order it just placed (its next request, usually
 * before the saga has recorded anything) is answered without asking Temporal for the workflow's
 * input. Filled when this process accepts an order and whenever a look-up finds one.
 */
export type OrderCustomers = LRUCache<string, string>;

export function createOrderCustomers(max = 100_000): OrderCustomers {
  return new LRUCache<string, string>({ max });
}
