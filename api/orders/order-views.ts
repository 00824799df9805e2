import { orderWorkflowId } from '../../domain/ids';
import { formatMoney, money } from '../../domain/money';
import type { OrderStatus } from '../../domain/order-status';
import type { OrderReadRow } from '../../read-models/projections/orders-read';
import type { OrderSagaState, OrderWorkflowInput } from '../../workflows/orders/order-contract';

/**
 * What GET /v1/orders/{id} answers: one shape, whether the order comes from the read model, from
 * its events or, before the workflow recorded it, from the workflow's input. Amounts are integers in minor units and
 * formatted strings; the database's BigInts never reach JSON.
 */

export function safeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`amount ${value} is outside the safe integer range`);
  }
  return Number(value);
}

/** GET /v1/orders/{id} from the read model (or the same row folded from the event store). */
export function orderFromReadRow(row: OrderReadRow) {
  const format = (minor: number) => formatMoney(money(minor, row.currency));
  return {
    orderId: row.order_id,
    workflowId: row.workflow_id,
    version: row.version,
    customerId: row.customer_id,
    customer: { name: row.customer_name, email: row.customer_email },
    status: row.status,
    statusLabel: row.status_label,
    failureReason: row.failure_reason,
    currency: row.currency,
    itemCount: row.item_count,
    subtotalMinor: row.subtotal_minor,
    commissionMinor: row.commission_minor,
    totalMinor: row.total_minor,
    subtotal: format(row.subtotal_minor),
    commission: format(row.commission_minor),
    total: format(row.total_minor),
    shippingAddress: {
      recipient: row.ship_recipient,
      line1: row.ship_line1,
      ...(row.ship_line2 !== null ? { line2: row.ship_line2 } : {}),
      city: row.ship_city,
      postalCode: row.ship_postal_code,
      country: row.ship_country,
    },
    sellers: row.seller_ids.map((sellerId, i) => ({ sellerId, name: row.seller_names[i] ?? '' })),
    lines: row.lines.map((l) => ({ ...l, lineTotal: format(l.lineTotalMinor) })),
    shipments: row.shipments,
    createdAt: new Date(row.placed_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** One entry of a customer's or a seller's order list. */
export function orderListItem(row: OrderReadRow) {
  return {
    orderId: row.order_id,
    status: row.status,
    statusLabel: row.status_label,
    itemCount: row.item_count,
    totalMinor: row.total_minor,
    total: formatMoney(money(row.total_minor, row.currency)),
    currency: row.currency,
    productNames: row.product_names,
    sellerNames: row.seller_names,
    customerName: row.customer_name,
    placedAt: new Date(row.placed_at).toISOString(),
  };
}

/** The same core shape, for an order the workflow has not recorded yet. */
export function orderFromInput(input: OrderWorkflowInput, state: OrderSagaState | undefined) {
  const { order } = input;
  const format = (minor: number) => formatMoney(money(minor, order.currency));
  return {
    orderId: input.orderId,
    workflowId: orderWorkflowId(input.orderId),
    customerId: input.customerId,
    status: state?.status ?? ('PENDING' satisfies OrderStatus),
    failureReason: state?.failure?.message ?? null,
    currency: order.currency,
    itemCount: order.itemCount,
    subtotalMinor: order.subtotalMinor,
    commissionMinor: order.commissionMinor,
    totalMinor: order.totalMinor,
    subtotal: format(order.subtotalMinor),
    commission: format(order.commissionMinor),
    total: format(order.totalMinor),
    shippingAddress: input.shippingAddress,
    lines: order.lines.map((l) => ({
      lineNo: l.lineNo,
      productId: l.productId,
      sellerId: l.sellerId,
      productName: l.name,
      quantity: l.quantity,
      unitPriceMinor: l.unitPriceMinor,
      lineTotalMinor: l.lineTotalMinor,
      commissionRateBps: l.commissionRateBps,
      commissionMinor: l.commissionMinor,
      lineTotal: format(l.lineTotalMinor),
    })),
    shipments: [],
    createdAt: input.acceptedAt,
    updatedAt: input.acceptedAt,
  };
}
