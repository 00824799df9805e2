/**
 * Prices an order from catalogue rows the server read itself: a client sends product ids and
 * quantities only, never prices. Commission is taken per line at that seller's rate, so a seller's
 * payout is exactly what the order's lines earned them, and every total is a sum of line amounts.
 */
import { add, money, multiply, percentageOf, subtract, sum, zero, type Money } from './money';

export interface CatalogueProduct {
  id: string;
  sellerId: string;
  name: string;
  priceMinor: number;
  currency: string;
  active: boolean;
  /** The marketplace's cut of each line of this product, in basis points. */
  commissionRateBps: number;
}

export interface RequestedItem {
  productId: string;
  quantity: number;
}

export interface PricedLine {
  lineNo: number;
  productId: string;
  sellerId: string;
  name: string;
  quantity: number;
  unitPriceMinor: number;
  lineTotalMinor: number;
  commissionRateBps: number;
  commissionMinor: number;
}

export interface SellerShare {
  sellerId: string;
  /** lineNo of each of the seller's lines. */
  lines: number[];
  subtotalMinor: number;
  commissionMinor: number;
  payoutMinor: number;
}

export interface PricedOrder {
  currency: string;
  lines: PricedLine[];
  sellers: SellerShare[];
  /** Sum of quantities. */
  itemCount: number;
  subtotalMinor: number;
  commissionMinor: number;
  /** What the customer pays: the subtotal, as there is no shipping or tax yet. */
  totalMinor: number;
}

export interface PricingProblem {
  /** Index of the offending entry in the requested items. */
  itemIndex: number;
  field: 'productId' | 'quantity' | 'items';
  code: 'unknown-product' | 'inactive-product' | 'mixed-currency' | 'duplicate-product';
  message: string;
}

export type PricingResult = { ok: true; order: PricedOrder } | { ok: false; problems: PricingProblem[] };

/**
 * Every problem of the request is reported at once (a client fixes them in one round trip).
 * A malformed quantity or an empty order is not a problem but a RangeError: the API schema rejects
 * those before pricing, so reaching here with one is a bug.
 */
export function priceOrder(
  items: readonly RequestedItem[],
  catalogue: ReadonlyMap<string, CatalogueProduct>,
): PricingResult {
  if (items.length === 0) throw new RangeError('an order needs at least one item');
  items.forEach(assertQuantity);

  const { problems, resolved, currency } = resolveItems(items, catalogue);
  if (problems.length > 0) return { ok: false, problems };
  if (currency === undefined) throw new Error('a non-empty order without problems has a currency');

  const lines = resolved.map(({ item, product }, index) => priceLine(index + 1, item, product));
  const subtotal = sum(
    currency,
    lines.map((line) => money(line.lineTotalMinor, currency)),
  );
  const commission = sum(
    currency,
    lines.map((line) => money(line.commissionMinor, currency)),
  );
  return {
    ok: true,
    order: {
      currency,
      lines,
      sellers: sellerShares(currency, lines),
      itemCount: itemCount(items),
      subtotalMinor: subtotal.amountMinor,
      commissionMinor: commission.amountMinor,
      totalMinor: subtotal.amountMinor,
    },
  };
}

function assertQuantity(item: RequestedItem, index: number): void {
  if (!Number.isSafeInteger(item.quantity) || item.quantity <= 0) {
    throw new RangeError(`item ${index}: quantity must be a positive integer, got ${String(item.quantity)}`);
  }
}

interface ResolvedItems {
  problems: PricingProblem[];
  /** Each requested item with its product; complete only when there are no problems. */
  resolved: { item: RequestedItem; product: CatalogueProduct }[];
  /** The order's currency: that of the first known product. */
  currency: string | undefined;
}

function resolveItems(
  items: readonly RequestedItem[],
  catalogue: ReadonlyMap<string, CatalogueProduct>,
): ResolvedItems {
  const problems: PricingProblem[] = [];
  const resolved: ResolvedItems['resolved'] = [];
  const firstIndexOf = new Map<string, number>();
  // The first known product sets the order's currency; any other currency is the odd one out.
  let currency: string | undefined;

  items.forEach((item, itemIndex) => {
    const firstIndex = firstIndexOf.get(item.productId);
    if (firstIndex !== undefined) {
      problems.push({
        itemIndex,
        field: 'productId',
        code: 'duplicate-product',
        message: `product ${item.productId} is already item ${firstIndex}: send one item per product`,
      });
      return;
    }
    firstIndexOf.set(item.productId, itemIndex);

    const product = catalogue.get(item.productId);
    if (product === undefined) {
      problems.push({
        itemIndex,
        field: 'productId',
        code: 'unknown-product',
        message: `product ${item.productId} does not exist`,
      });
      return;
    }
    if (!product.active) {
      problems.push({
        itemIndex,
        field: 'productId',
        code: 'inactive-product',
        message: `product ${item.productId} is no longer sold`,
      });
    }
    currency ??= product.currency;
    if (product.currency !== currency) {
      problems.push({
        itemIndex,
        field: 'items',
        code: 'mixed-currency',
        message: `product ${item.productId} is priced in ${product.currency}, the order in ${currency}`,
      });
    }
    resolved.push({ item, product });
  });
  return { problems, resolved, currency };
}

function priceLine(lineNo: number, item: RequestedItem, product: CatalogueProduct): PricedLine {
  const unitPrice = money(product.priceMinor, product.currency);
  if (unitPrice.amountMinor < 0) throw new RangeError(`product ${product.id} has a negative price`);
  const lineTotal = multiply(unitPrice, item.quantity);
  const commission = percentageOf(lineTotal, product.commissionRateBps);
  return {
    lineNo,
    productId: product.id,
    sellerId: product.sellerId,
    name: product.name,
    quantity: item.quantity,
    unitPriceMinor: unitPrice.amountMinor,
    lineTotalMinor: lineTotal.amountMinor,
    commissionRateBps: product.commissionRateBps,
    commissionMinor: commission.amountMinor,
  };
}

interface SellerTotals {
  lines: number[];
  subtotal: Money;
  commission: Money;
}

/** Sellers in order of their first line, so the split reads in the same order as the basket. */
function sellerShares(currency: string, lines: readonly PricedLine[]): SellerShare[] {
  const bySeller = new Map<string, SellerTotals>();
  for (const line of lines) {
    const totals = bySeller.get(line.sellerId) ?? { lines: [], subtotal: zero(currency), commission: zero(currency) };
    totals.lines.push(line.lineNo);
    totals.subtotal = add(totals.subtotal, money(line.lineTotalMinor, currency));
    totals.commission = add(totals.commission, money(line.commissionMinor, currency));
    bySeller.set(line.sellerId, totals);
  }
  return [...bySeller].map(([sellerId, totals]) => ({
    sellerId,
    lines: totals.lines,
    subtotalMinor: totals.subtotal.amountMinor,
    commissionMinor: totals.commission.amountMinor,
    payoutMinor: subtract(totals.subtotal, totals.commission).amountMinor,
  }));
}

function itemCount(items: readonly RequestedItem[]): number {
  const count = items.reduce((acc, item) => acc + BigInt(item.quantity), 0n);
  if (count > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('item count is outside the safe integer range');
  return Number(count);
}
