import { formatMoney, money } from '../../domain/money';
import type { OrderStatus } from '../../domain/order-status';
import type { Principal } from '../../domain/principal';
import type { OrderReadRow } from '../../read-models/projections/orders-read';
import { sameId } from '../access/access';

/**
 * What a seller sees of an order that holds a line of theirs: their lines and what those come to,
 * their shipment, and the name and address to ship to. Not the customer's id or email, not other
 * sellers' lines, names or shipments, not the order's totals, payment or failure reason: a seller
 * is a party to one part of the order, and a marketplace does not hand one seller what the buyer
 * bought from another. Customers and operators read the whole order (order-views.ts).
 *
 * Every answer of GET /v1/orders/{id} goes through `orderViewFor`, whichever source built it (the
 * read model, the events, the workflow's input, an `asOf` rebuild), so no path shows a seller more.
 */

interface AnyLine {
  lineNo: number;
  productId: string;
  sellerId: string;
  quantity: number;
  unitPriceMinor: number;
  lineTotalMinor: number;
  commissionRateBps: number;
  commissionMinor: number;
  /** `productName` in the read model's view, `name` in the events' (asOf). */
  productName?: string;
  name?: string;
}

interface AnyShipment {
  shipmentId: string;
  sellerId: string;
  carrier: string;
  trackingNumber: string;
  status: string;
  deliveredAt: string | null;
  createdAt?: string;
  cancelledAt?: string | null;
}

/** The fields of a whole-order view (read model, events, workflow input, asOf) the seller view is cut from. */
export interface WholeOrderView {
  orderId: string;
  status: OrderStatus;
  statusLabel?: string;
  currency: string;
  shippingAddress: {
    recipient: string;
    line1: string;
    line2?: string | undefined;
    city: string;
    postalCode: string;
    country: string;
  };
  lines: readonly AnyLine[];
  shipments: readonly AnyShipment[];
  createdAt?: string;
  updatedAt?: string;
  /** asOf answers only. */
  version?: number;
  asOf?: string;
}

type PricedLine = Pick<AnyLine, 'sellerId' | 'quantity' | 'lineTotalMinor' | 'commissionMinor'>;

/** The seller's lines of an order and what they come to: the part both views show. */
function sellerLines<Line extends PricedLine>(lines: readonly Line[], sellerId: string) {
  const own = lines.filter((l) => sameId(l.sellerId, sellerId));
  const sum = (of: (l: Line) => number) => own.reduce((total, l) => total + of(l), 0);
  return {
    lines: own,
    itemCount: sum((l) => l.quantity),
    subtotalMinor: sum((l) => l.lineTotalMinor),
    commissionMinor: sum((l) => l.commissionMinor),
  };
}

export function sellerOrderView(order: WholeOrderView, sellerId: string) {
  const format = (minor: number) => formatMoney(money(minor, order.currency));
  const { lines, itemCount, subtotalMinor, commissionMinor } = sellerLines(order.lines, sellerId);
  const shipment = order.shipments.find((s) => sameId(s.sellerId, sellerId));
  return {
    orderId: order.orderId,
    sellerId,
    ...(order.version !== undefined ? { version: order.version } : {}),
    ...(order.asOf !== undefined ? { asOf: order.asOf } : {}),
    status: order.status,
    ...(order.statusLabel !== undefined ? { statusLabel: order.statusLabel } : {}),
    currency: order.currency,
    itemCount,
    subtotalMinor,
    commissionMinor,
    subtotal: format(subtotalMinor),
    commission: format(commissionMinor),
    shipTo: order.shippingAddress,
    lines: lines.map((l) => ({
      lineNo: l.lineNo,
      productId: l.productId,
      productName: l.productName ?? l.name ?? '',
      quantity: l.quantity,
      unitPriceMinor: l.unitPriceMinor,
      lineTotalMinor: l.lineTotalMinor,
      commissionRateBps: l.commissionRateBps,
      commissionMinor: l.commissionMinor,
      lineTotal: format(l.lineTotalMinor),
    })),
    shipment: shipment
      ? {
          shipmentId: shipment.shipmentId,
          carrier: shipment.carrier,
          trackingNumber: shipment.trackingNumber,
          status: shipment.status,
          deliveredAt: shipment.deliveredAt,
        }
      : null,
    ...(order.createdAt !== undefined ? { createdAt: order.createdAt } : {}),
    ...(order.updatedAt !== undefined ? { updatedAt: order.updatedAt } : {}),
  };
}

/** The view of an order this caller gets: a seller's own part (sellerOrderView), anyone else the whole order. */
export function orderViewFor<T extends WholeOrderView>(principal: Principal, order: T) {
  return principal.role === 'seller' ? sellerOrderView(order, principal.sellerId) : order;
}

/** One entry of a seller's order list: the seller's part of it, as in sellerOrderView. */
export function sellerOrderListItem(row: OrderReadRow, sellerId: string) {
  const { lines, itemCount, subtotalMinor } = sellerLines(row.lines, sellerId);
  return {
    orderId: row.order_id,
    status: row.status,
    statusLabel: row.status_label,
    itemCount,
    subtotalMinor,
    subtotal: formatMoney(money(subtotalMinor, row.currency)),
    currency: row.currency,
    productNames: lines.map((l) => l.productName),
    shipToName: row.ship_recipient,
    placedAt: new Date(row.placed_at).toISOString(),
  };
}
