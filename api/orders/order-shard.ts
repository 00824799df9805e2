import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import type { AppDeps } from '../deps';
import { orderCustomerId, type OrderLookupDeps } from './order-access';

/**
 * Where the order API finds a customer's order-side rows (their orders' events, their requests'
 * idempotency keys): on the customer's shard, as the shard router says (docs/sharding.md). Every
 * order route asks here; none picks a database itself. A customer being moved is a
 * PartitionFencedError, which the error handler answers with 503 and `Retry-After`.
 */

export type OrderShardDeps = Pick<AppDeps, 'shards'>;

export async function customerDatabase(deps: OrderShardDeps, customerId: string): Promise<Database> {
  if (!deps.shards) throw new Error('the API has no shard router (createApp makes one)');
  return (await deps.shards.databaseFor(customerPartitionKey(customerId))).db;
}

/**
 * The database of the order's customer's shard; undefined when the order's customer is not known
 * (api/orders/order-access.ts: the read model, the catalogue's events, the workflow's input).
 */
export async function orderDatabase(
  deps: OrderShardDeps & OrderLookupDeps,
  orderId: string,
): Promise<Database | undefined> {
  const customerId = await orderCustomerId(deps, orderId);
  return customerId === undefined ? undefined : customerDatabase(deps, customerId);
}
