import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { orderWorkflowId } from '../../domain/ids';
import { priceOrder, type CatalogueProduct, type RequestedItem } from '../../domain/pricing';
import type { Config } from '../../platform/config';
import type { Database } from '../../platform/database';
import type { TemporalClient } from '../../platform/temporal';
import type { createActivities } from '../../activities';
import type { orderWorkflow } from '../../workflows/orders/order';
import type { OrderWorkflowInput, ShippingAddress } from '../../workflows/orders/order-contract';
import { createCustomer, createProduct, createSeller, deliverableAddress } from './catalogue';

export { deliverableAddress };

/** Small worlds for order tests: a seller or two, products with stock, a customer. */

export const undeliverableAddress: ShippingAddress = { ...deliverableAddress, country: 'ZZ' };

export interface SeededProduct extends CatalogueProduct {
  stock: number;
}

/** A seller with its own commission rate (basis points), for pricing that the test can check by hand. */
export async function seedSeller(db: Database, commissionRateBps = 1000): Promise<string> {
  return (await createSeller(db, { commissionRateBps })).id;
}

/** A product with stock, described as the pricing sees it (the API reads the same from the catalogue). */
export async function seedProduct(
  db: Database,
  sellerId: string,
  { priceMinor = 1250, currency = 'EUR', stock = 10 }: { priceMinor?: number; currency?: string; stock?: number } = {},
): Promise<SeededProduct> {
  const product = await createProduct(db, { sellerId, priceMinor, currency, stock });
  const seller = await db.seller.findUniqueOrThrow({ where: { id: sellerId } });
  return {
    id: product.id,
    sellerId,
    name: product.name,
    priceMinor,
    currency,
    active: true,
    commissionRateBps: seller.commissionRateBps ?? 1000,
    stock,
  };
}

export async function seedCustomer(db: Database): Promise<string> {
  return (await createCustomer(db)).id;
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

/**
 * Every saga step and then every compensation of one order, called directly as the worker would:
 * for tests of what activities do to the world (idempotency, events). Named for messages.
 */
export function forwardAndCompensationCalls(
  activities: ReturnType<typeof createActivities>,
  input: OrderWorkflowInput,
): [string, () => Promise<unknown>][] {
  const { orderId, order } = input;
  const workflowId = orderWorkflowId(orderId);
  const lines = order.lines.map(({ productId, quantity }) => ({ productId, quantity }));
  const sellers = order.sellers.map((s) => ({
    sellerId: s.sellerId,
    idempotencyKey: `${workflowId}:create-shipment:${s.sellerId}`,
  }));
  return [
    [
      'recordOrder',
      () =>
        activities.recordOrder({
          orderId,
          workflowId,
          customerId: input.customerId,
          order,
          shippingAddress: input.shippingAddress,
        }),
    ],
    ['reserveInventory', () => activities.reserveInventory({ orderId, lines })],
    [
      'chargePayment',
      () =>
        activities.chargePayment({
          orderId,
          amountMinor: order.totalMinor,
          currency: order.currency,
          token: input.payment.token,
          idempotencyKey: `${workflowId}:take-payment`,
        }),
    ],
    [
      'createShipments',
      () =>
        activities.createShipments({
          orderId,
          address: input.shippingAddress,
          sellers: sellers.map((s) => ({
            ...s,
            parcels: order.lines
              .filter((l) => l.sellerId === s.sellerId)
              .map(({ productId, quantity }) => ({ productId, quantity })),
          })),
        }),
    ],
    ['cancelShipments', () => activities.cancelShipments({ orderId, sellers })],
    ['refundPayment', () => activities.refundPayment({ orderId, idempotencyKey: `${workflowId}:refund-payment` })],
    ['releaseInventory', () => activities.releaseInventory({ orderId })],
  ];
}
