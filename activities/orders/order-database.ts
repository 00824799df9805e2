import { ApplicationFailure } from '@temporalio/activity';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import { fencedActivityFailure, isPartitionFenced } from '../../platform/shards/partition-fence';
import type { ShardRouter } from '../../platform/shards/router';
import { sqlPoolOf } from '../../platform/sql-pool';

/**
 * Where an order step finds the order: on its customer's shard, as the shard router says
 * (docs/sharding.md). Every order activity asks here; none picks a database itself.
 *
 * The saga names the customer in every step's input. Inputs scheduled before it did (recorded
 * histories, and steps in flight across the upgrade that Temporal retries with their first input)
 * do not: their order's customer is then looked up once per attempt, in the read model, or else in
 * the catalogue database's own orders, where every order placed before the saga routed was
 * recorded. Neither asks the shards one by one. An order found in neither yet (the projector
 * behind, the order moved off the catalogue) is retried shortly.
 */

export interface OrderShardDeps {
  /** The catalogue database: stock, reservations, the read models and the shard map. */
  db: Database;
  shards: ShardRouter;
}

/** The order a step is about, and whose it is (absent in inputs scheduled before the saga routed). */
export interface OrderRef {
  orderId: string;
  customerId?: string;
}

/** Looked up again after this long when the order's customer is not known anywhere yet. */
const UNKNOWN_CUSTOMER_RETRY_MS = 1_000;

/**
 * The database of the shard that holds the order's customer. A customer being moved is a
 * retryable failure that Temporal retries once the move is likely done (fencedActivityFailure).
 */
export async function orderDatabase(deps: OrderShardDeps, ref: OrderRef): Promise<Database> {
  const customerId = ref.customerId ?? (await customerOfOrder(deps.db, ref.orderId));
  try {
    return (await deps.shards.databaseFor(customerPartitionKey(customerId))).db;
  } catch (error) {
    if (isPartitionFenced(error)) throw fencedActivityFailure(error);
    throw error;
  }
}

async function customerOfOrder(catalogue: Database, orderId: string): Promise<string> {
  const { rows } = await sqlPoolOf(catalogue).query<{ customerId: string }>({
    name: 'order-customer-for-routing',
    text: `(SELECT customer_id::text AS "customerId" FROM read_models.orders_read WHERE order_id = $1::uuid)
           UNION ALL
           (SELECT customer_id::text FROM orders WHERE id = $1::uuid)
           LIMIT 1`,
    values: [orderId],
  });
  const customerId = rows[0]?.customerId;
  if (customerId !== undefined) return customerId;
  throw ApplicationFailure.create({
    type: 'OrderCustomerUnknown',
    message: `the customer of order ${orderId} is not known yet (its input predates routing by customer)`,
    nextRetryDelay: UNKNOWN_CUSTOMER_RETRY_MS,
  });
}
