import { orderWorkflowId } from '../../domain/ids';
import { formatMoney, money } from '../../domain/money';
import { orderSummary } from '../../domain/order-summary';
import { priceOrder, type CatalogueProduct, type PricedOrder, type RequestedItem } from '../../domain/pricing';
import { sqlPoolOf } from '../../platform/sql-pool';
import type { OrderWorkflowInput } from '../../workflows/orders/order-contract';
import { CustomerId, OrderStatus, OrderTotal, SagaStep, SellerIds } from '../../workflows/orders/search-attributes';
import type { AppDeps } from '../deps';
import { safeNumber } from './order-views';
import { customerDatabase } from './order-shard';
import { ORDER_WORKFLOW_TYPE, type OrderWorkflow } from './order-workflows';

/**
 * Placing an order, the use case behind `POST /v1/orders`: price it from the catalogue, then start
 * its workflow with the input, search attributes and Web UI summary that operators see. It writes
 * no order rows (the workflow's first step does), so an order refused here leaves nothing behind.
 * HTTP (idempotency keys, status codes, headers) stays in the route.
 */

export type PlaceOrderDeps = Pick<AppDeps, 'config' | 'db' | 'temporal' | 'positionWatcher' | 'shards'>;

export interface OrderRequest extends Pick<OrderWorkflowInput, 'customerId' | 'shippingAddress' | 'payment'> {
  items: RequestedItem[];
}

/** What makes an order unacceptable, each naming the request field at fault (`items.0.quantity`). */
export interface OrderProblem {
  field: string;
  code: string;
  message: string;
}

export class OrderNotAcceptable extends Error {
  constructor(readonly problems: OrderProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} with the order`);
    this.name = 'OrderNotAcceptable';
  }
}

export interface PlaceOrder {
  orderId: string;
  request: OrderRequest;
  /** The HTTP request that placed it: an operator goes from an API log line to the saga. */
  requestId: string;
  /** False when resuming an earlier attempt with the same idempotency key. */
  firstAttempt: boolean;
}

/** Prices the order and starts its workflow; throws OrderNotAcceptable with every problem at once. */
export async function placeOrder(deps: PlaceOrderDeps, { orderId, request, requestId, firstAttempt }: PlaceOrder) {
  const order = await priceFromCatalogue(deps, request);
  // Before its first event can exist: read-your-writes waits on it then need no query.
  if (firstAttempt) deps.positionWatcher?.expectNew(orderId);
  const input: OrderWorkflowInput = {
    orderId,
    customerId: request.customerId,
    order,
    shippingAddress: request.shippingAddress,
    payment: request.payment,
    deliveryTimeoutMs: deps.config.orders.deliveryTimeoutMs,
    continueAsNewAfterEvents: deps.config.orders.continueAsNewAfterEvents,
    acceptedAt: new Date().toISOString(),
  };
  await deps.temporal.client.workflow.start<OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
    workflowId: orderWorkflowId(orderId),
    taskQueue: deps.config.temporal.taskQueue,
    args: [input],
    // A closed order's id is never run again: a late retry gets "already started", i.e. success.
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    memo: { requestId },
    staticSummary: orderSummary({
      itemCount: order.itemCount,
      totalMinor: order.totalMinor,
      currency: order.currency,
      customerId: request.customerId,
    }),
    staticDetails: orderDetails(orderId, order),
    typedSearchAttributes: [
      { key: CustomerId, value: request.customerId },
      { key: SellerIds, value: order.sellers.map((s) => s.sellerId) },
      { key: OrderTotal, value: order.totalMinor },
      { key: OrderStatus, value: 'PENDING' },
      { key: SagaStep, value: 'record-order' },
    ],
  });
}

/** A catalogue row for pricing; `id` is null when none of the products exist. */
interface CatalogueRow {
  known: boolean;
  id: string | null;
  sellerId: string;
  name: string;
  /** int8 comes back as text, exact. */
  priceMinor: string;
  currency: string;
  active: boolean;
  commissionRateBps: number | null;
}

/** Whether the customer exists, and the products an order names (a prepared statement). */
const PRICING_STATEMENT = {
  name: 'order-pricing-catalogue',
  text: `SELECT c.known, p.id, p.seller_id AS "sellerId", p.name, p.price_minor AS "priceMinor", p.currency, p.active,
                s.commission_rate_bps AS "commissionRateBps"
         FROM (SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1::uuid) AS known) AS c
         LEFT JOIN (products p JOIN sellers s ON s.id = p.seller_id) ON p.id = ANY($2::uuid[])`,
};

/** The pricing statement for no customer and no product: reads nothing, and prepares it on a connection. */
export const pricingWarmUpStatement = {
  ...PRICING_STATEMENT,
  values: ['00000000-0000-0000-0000-000000000000', []],
};

async function priceFromCatalogue(deps: PlaceOrderDeps, request: OrderRequest): Promise<PricedOrder> {
  const { db, config } = deps;
  const productIds = [...new Set(request.items.map((item) => item.productId))];
  // Customers are on their shard: when that is another database, it answers whether they exist.
  const customerDb = await customerDatabase(deps, request.customerId);
  // One round trip on every order: whether the customer exists, and the products it names.
  const { rows } = await sqlPoolOf(db).query<CatalogueRow>({
    ...PRICING_STATEMENT,
    values: [request.customerId, productIds],
  });
  const catalogue = new Map<string, CatalogueProduct>(
    rows
      .filter((p): p is CatalogueRow & { id: string } => p.id !== null)
      .map((p) => [
        p.id,
        {
          id: p.id,
          sellerId: p.sellerId,
          name: p.name,
          priceMinor: safeNumber(BigInt(p.priceMinor)),
          currency: p.currency,
          active: p.active,
          commissionRateBps: p.commissionRateBps ?? config.orders.defaultCommissionBps,
        },
      ]),
  );
  const priced = priceOrder(request.items, catalogue);
  const problems: OrderProblem[] = [];
  const known = customerDb === db ? rows[0]?.known === true : await customerExists(customerDb, request.customerId);
  if (!known) {
    problems.push({
      field: 'customerId',
      code: 'unknown-customer',
      message: `customer ${request.customerId} does not exist`,
    });
  }
  if (!priced.ok) {
    for (const problem of priced.problems) {
      const field = problem.field === 'items' ? 'items' : `items.${problem.itemIndex}.${problem.field}`;
      problems.push({ field, code: problem.code, message: problem.message });
    }
  }
  if (problems.length > 0 || !priced.ok) throw new OrderNotAcceptable(problems);
  return priced.order;
}

async function customerExists(db: PlaceOrderDeps['db'], customerId: string): Promise<boolean> {
  const { rows } = await sqlPoolOf(db).query<{ known: boolean }>({
    name: 'order-customer-exists',
    text: 'SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1::uuid) AS known',
    values: [customerId],
  });
  return rows[0]?.known === true;
}

/** Markdown for the Web UI's details pane: one line per order line, then the total. */
function orderDetails(orderId: string, order: PricedOrder): string {
  const amount = (minor: number): string => formatMoney(money(minor, order.currency));
  const lines = order.lines.map(
    (l) => `- ${l.quantity} × ${l.name} (product ${l.productId}, seller ${l.sellerId}): ${amount(l.lineTotalMinor)}`,
  );
  return [`**Order ${orderId}**`, '', ...lines, '', `**Total:** ${amount(order.totalMinor)}`].join('\n');
}
