import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { orderWorkflowId } from '../../domain/ids';
import { priceOrder, type CatalogueProduct, type RequestedItem } from '../../domain/pricing';
import type { Config } from '../../lib/config';
import type { Database } from '../../lib/database';
import type { TemporalClient } from '../../lib/temporal';
import type { orderWorkflow } from '../../workflows/order';
import type { OrderWorkflowInput, ShippingAddress } from '../../workflows/order-contract';

/** Small worlds for order tests: a seller or two, products with stock, a customer. */

export const deliverableAddress: ShippingAddress = {
  recipient: 'Ada Lovelace',
  line1: '12 St James Square',
  city: 'London',
  postalCode: 'SW1Y 4JH',
  country: 'GB',
};

export const undeliverableAddress: ShippingAddress = { ...deliverableAddress, country: 'ZZ' };

export interface SeededProduct extends CatalogueProduct {
  stock: number;
}

export async function seedSeller(db: Database, commissionRateBps = 1000): Promise<string> {
  const id = randomUUID();
  await db.seller.create({
    data: { id, name: `Seller ${id.slice(0, 6)}`, email: `seller-${id}@example.test`, commissionRateBps },
  });
  return id;
}

export async function seedProduct(
  db: Database,
  sellerId: string,
  { priceMinor = 1250, currency = 'EUR', stock = 10 }: { priceMinor?: number; currency?: string; stock?: number } = {},
): Promise<SeededProduct> {
  const id = randomUUID();
  const seller = await db.seller.findUniqueOrThrow({ where: { id: sellerId } });
  await db.product.create({
    data: {
      id,
      sellerId,
      sku: `SKU-${id.slice(0, 8)}`,
      name: `Product ${id.slice(0, 6)}`,
      categoryPath: 'test/widgets',
      priceMinor,
      currency,
      inventory: { create: { onHand: stock } },
    },
  });
  return {
    id,
    sellerId,
    name: `Product ${id.slice(0, 6)}`,
    priceMinor,
    currency,
    active: true,
    commissionRateBps: seller.commissionRateBps ?? 1000,
    stock,
  };
}

export async function seedCustomer(db: Database): Promise<string> {
  const id = randomUUID();
  await db.customer.create({ data: { id, name: `Customer ${id.slice(0, 6)}`, email: `customer-${id}@example.test` } });
  return id;
}

export function orderInput(
  customerId: string,
  products: readonly CatalogueProduct[],
  items: RequestedItem[],
  overrides: Partial<OrderWorkflowInput> = {},
): OrderWorkflowInput {
  const priced = priceOrder(items, new Map(products.map((p) => [p.id, p])));
  if (!priced.ok) throw new Error(`test order does not price: ${JSON.stringify(priced.problems)}`);
  return {
    orderId: randomUUID(),
    customerId,
    order: priced.order,
    shippingAddress: deliverableAddress,
    payment: { token: 'tok_visa' },
    deliveryTimeoutMs: 60_000,
    acceptedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** Starts an order workflow directly, as the API does after validating and pricing. */
export function startOrder(
  temporal: TemporalClient,
  config: Config,
  input: OrderWorkflowInput,
): Promise<WorkflowHandle<typeof orderWorkflow>> {
  return temporal.client.workflow.start<typeof orderWorkflow>('orderWorkflow', {
    workflowId: orderWorkflowId(input.orderId),
    taskQueue: config.temporal.taskQueue,
    args: [input],
  });
}

export async function stockOf(db: Database, productId: string): Promise<{ onHand: number; reserved: number }> {
  const row = await db.inventory.findUniqueOrThrow({ where: { productId } });
  return { onHand: row.onHand, reserved: row.reserved };
}
