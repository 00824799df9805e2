import { orderWorkflowId } from '../domain/ids';
import { formatMoney, money } from '../domain/money';
import type { OrderStatus } from '../domain/order-status';
import type { Prisma } from '../generated/prisma/client';
import type { OrderSagaState, OrderWorkflowInput } from '../workflows/order-contract';

/**
 * What GET /v1/orders/{id} answers: one shape, whether the order comes from its row or, before the
 * workflow recorded it, from the workflow's input. Amounts are integers in minor units and
 * formatted strings; the database's BigInts never reach JSON.
 */

export function safeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`amount ${value} is outside the safe integer range`);
  }
  return Number(value);
}

type OrderRow = Prisma.OrderGetPayload<{ include: { lines: true; shipments: true } }>;

export function orderFromRow(row: OrderRow) {
  const amount = (minor: bigint) => ({
    minor: safeNumber(minor),
    formatted: formatMoney(money(safeNumber(minor), row.currency)),
  });
  const subtotal = amount(row.subtotalMinor);
  const commission = amount(row.commissionMinor);
  const total = amount(row.totalMinor);
  return {
    orderId: row.id,
    workflowId: row.workflowId,
    customerId: row.customerId,
    status: row.status as OrderStatus,
    failureReason: row.failureReason,
    currency: row.currency,
    itemCount: row.itemCount,
    subtotalMinor: subtotal.minor,
    commissionMinor: commission.minor,
    totalMinor: total.minor,
    subtotal: subtotal.formatted,
    commission: commission.formatted,
    total: total.formatted,
    shippingAddress: row.shippingAddress,
    lines: row.lines.map((l) => ({
      lineNo: l.lineNo,
      productId: l.productId,
      sellerId: l.sellerId,
      productName: l.productName,
      quantity: l.quantity,
      unitPriceMinor: safeNumber(l.unitPriceMinor),
      lineTotalMinor: safeNumber(l.lineTotalMinor),
      commissionRateBps: l.commissionRateBps,
      commissionMinor: safeNumber(l.commissionMinor),
      lineTotal: amount(l.lineTotalMinor).formatted,
    })),
    shipments: row.shipments.map((s) => ({
      shipmentId: s.id,
      sellerId: s.sellerId,
      status: s.status,
      carrier: s.carrier,
      trackingNumber: s.trackingNumber,
      createdAt: s.createdAt.toISOString(),
      deliveredAt: s.deliveredAt?.toISOString() ?? null,
      cancelledAt: s.cancelledAt?.toISOString() ?? null,
    })),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export /** The same shape as `orderFromRow`, for an order the workflow has not recorded yet. */
function orderFromInput(input: OrderWorkflowInput, state: OrderSagaState | undefined) {
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
