/**
 * Partition keys: what decides where a row lives. Order-side data is partitioned by customer, so
 * a customer's orders, payments, shipments and events are together on one shard and the saga of
 * one order never spans two order databases.
 */

const CUSTOMER_KEY = /^customer:(.+)$/;

export function customerPartitionKey(customerId: string): string {
  if (customerId.length === 0) throw new RangeError('a customer partition key needs a customer id');
  return `customer:${customerId}`;
}

/** The customer id of a customer partition key, or undefined when the key is not one. */
export function customerIdFromPartitionKey(partitionKey: string): string | undefined {
  return CUSTOMER_KEY.exec(partitionKey)?.[1];
}
