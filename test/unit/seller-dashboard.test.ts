import { toSellerDashboard } from '../../api/sellers/seller-dashboard-routes';
import { sellerDrift, COMPARED_FIGURES, type ComparedFigure } from '../../read-models/seller-dashboard/recalculation';
import { DASHBOARD_RECALCULATION_WORKFLOW } from '../../read-models/seller-dashboard/schedule';
import type { ProjectedEvent } from '../../read-models/projections/projection';
import {
  factChanges,
  monthlyRevenueAt,
  sellerDashboardProjection,
  utcMonthOf,
  type SellerDashboardRow,
} from '../../read-models/projections/seller-dashboard';
import * as workflows from '../../workflows';

const ORDER = '00000000-0000-4000-8000-000000000001';
const PRODUCT = '00000000-0000-4000-8000-000000000002';
const SELLER_A = '00000000-0000-4000-8000-00000000000a';
const SELLER_B = '00000000-0000-4000-8000-00000000000b';
const at = new Date('2026-11-25T10:00:00.000Z');

let position = 0n;
function event(
  aggregateType: string,
  aggregateId: string,
  version: number,
  type: string,
  payload: unknown,
): ProjectedEvent {
  position += 1n;
  return { eventId: `e${position}`, aggregateType, aggregateId, version, type, payload, occurredAt: at, position };
}

const line = (lineNo: number, sellerId: string, lineTotalMinor: number) => ({
  lineNo,
  productId: PRODUCT,
  sellerId,
  name: 'x',
  quantity: 1,
  unitPriceMinor: lineTotalMinor,
  lineTotalMinor,
  commissionRateBps: 1000,
  commissionMinor: 0,
});

describe('factChanges', () => {
  it("splits a placed order into each seller's gross (line totals before commission)", () => {
    const changes = factChanges([
      event('order', ORDER, 1, 'OrderPlaced', {
        lines: [line(1, SELLER_A, 600), line(2, SELLER_B, 500), line(3, SELLER_A, 400)],
      }),
    ]);

    expect(changes.placedOrders).toEqual([
      { order_id: ORDER, seller_id: SELLER_A, version: 1, gross_minor: 1000, placed_at: at.toISOString() },
      { order_id: ORDER, seller_id: SELLER_B, version: 1, gross_minor: 500, placed_at: at.toISOString() },
    ]);
    expect(changes.orderChanges).toEqual([]);
  });

  it('turns the later order events into status, payment and refund changes, and ignores the others', () => {
    const changes = factChanges([
      event('order', ORDER, 2, 'InventoryReserved', { lines: [] }),
      event('order', ORDER, 3, 'PaymentCaptured', { paymentId: 'p', amountMinor: 1, currency: 'EUR' }),
      event('order', ORDER, 4, 'InventoryReleased', { lines: [] }),
      event('order', ORDER, 5, 'PaymentRefunded', { paymentId: 'p', amountMinor: 1 }),
      event('order', ORDER, 6, 'ShipmentsCancelled', { shipmentIds: [] }),
      event('order', ORDER, 7, 'OrderCancelled', { reason: 'r' }),
    ]);

    expect(changes.orderChanges).toEqual([
      { order_id: ORDER, version: 2, status: 'INVENTORY_RESERVED', paid_at: null, refunded: false },
      { order_id: ORDER, version: 3, status: 'PAID', paid_at: at.toISOString(), refunded: false },
      { order_id: ORDER, version: 5, status: null, paid_at: null, refunded: true },
      { order_id: ORDER, version: 7, status: 'CANCELLED', paid_at: null, refunded: false },
    ]);
  });

  it('turns product events into product facts: creation, activity changes and ratings', () => {
    const changes = factChanges([
      event('product', PRODUCT, 1, 'ProductCreated', { sellerId: SELLER_A, active: true, name: 'n' }),
      event('product', PRODUCT, 2, 'ProductUpdated', { changes: { name: 'renamed' } }),
      event('product', PRODUCT, 3, 'ProductUpdated', { changes: { active: false, priceMinor: 5 } }),
      event('product', PRODUCT, 4, 'ProductReviewed', { reviewId: 'r', customerId: 'c', rating: 4, body: 'b' }),
      event('customer', PRODUCT, 1, 'SomethingElse', {}),
    ]);

    expect(changes.createdProducts).toEqual([{ product_id: PRODUCT, seller_id: SELLER_A, version: 1, active: true }]);
    expect(changes.productChanges).toEqual([
      { product_id: PRODUCT, version: 3, active: false, rating: null },
      { product_id: PRODUCT, version: 4, active: null, rating: 4 },
    ]);
  });
});

describe('the monthly revenue', () => {
  it('names the UTC calendar month an instant falls in', () => {
    expect(utcMonthOf(new Date('2026-11-30T23:59:59.999Z'))).toBe('2026-11-01');
    expect(utcMonthOf(new Date('2026-12-01T00:00:00.000Z'))).toBe('2026-12-01');
    expect(utcMonthOf(new Date('2027-01-05T00:00:00.000Z'))).toBe('2027-01-01');
  });

  it("is the stored figure in its month and 0 in any later one (a last month's figure never shows)", () => {
    const row = { monthly_revenue_minor: '4200', revenue_month: '2026-11-01' };
    expect(monthlyRevenueAt(row, new Date('2026-11-30T23:59:59.999Z'))).toBe('4200');
    expect(monthlyRevenueAt(row, new Date('2026-12-01T00:00:00.000Z'))).toBe('0');
  });
});

describe('toSellerDashboard', () => {
  const row: SellerDashboardRow = {
    seller_id: SELLER_A,
    seller_name: 'Alpha',
    total_orders: 5,
    pending_orders: 2,
    paid_orders: 2,
    total_revenue_minor: '9007199254740993',
    monthly_revenue_minor: '3000',
    revenue_month: '2026-11-01',
    average_order_value_minor: '1500',
    total_products: 2,
    active_products: 1,
    review_count: 2,
    average_rating: '4.50',
    updated_at: at,
    last_calculated_at: null,
  };

  it('answers money as exact strings and the month the monthly figure is for', () => {
    expect(toSellerDashboard(row, new Date('2026-12-02T00:00:00Z'))).toEqual({
      sellerId: SELLER_A,
      sellerName: 'Alpha',
      orders: { total: 5, pending: 2, paid: 2 },
      revenue: { totalMinor: '9007199254740993', monthlyMinor: '0', month: '2026-12', averageOrderValueMinor: '1500' },
      products: { total: 2, active: 1 },
      reviews: { count: 2, averageRating: '4.50' },
      updatedAt: at.toISOString(),
      lastCalculatedAt: null,
    });
  });
});

describe('sellerDrift', () => {
  const figures = (overrides: Partial<Record<ComparedFigure, string | null>> = {}) =>
    ({
      ...Object.fromEntries(COMPARED_FIGURES.map((f) => [f, '0'])),
      average_order_value_minor: null,
      average_rating: null,
      ...overrides,
    }) as Record<ComparedFigure, string | null>;

  it('is nothing when the figures agree', () => {
    expect(sellerDrift(SELLER_A, figures({ total_orders: '3' }), figures({ total_orders: '3' }))).toBeUndefined();
  });

  it('names each differing field with its old and new value', () => {
    expect(
      sellerDrift(SELLER_A, figures({ total_orders: '9', average_rating: '4.00' }), figures({ total_orders: '3' })),
    ).toEqual({
      sellerId: SELLER_A,
      missing: false,
      fields: { total_orders: { from: '9', to: '3' }, average_rating: { from: '4.00', to: null } },
    });
  });

  it('reports a missing row only for the figures it should have shown', () => {
    expect(sellerDrift(SELLER_A, undefined, figures())).toBeUndefined();
    expect(sellerDrift(SELLER_A, undefined, figures({ total_products: '1' }))).toEqual({
      sellerId: SELLER_A,
      missing: true,
      fields: { total_products: { from: null, to: '1' } },
    });
  });
});

describe('wiring', () => {
  it('consumes order and product events into its own tables', () => {
    expect(sellerDashboardProjection).toMatchObject({
      name: 'seller_dashboard_view',
      aggregateTypes: ['order', 'product'],
      tables: ['seller_dashboard_view', 'seller_order_facts', 'seller_product_facts'],
    });
  });

  it('schedules the workflow under the name the worker registers it by', () => {
    expect(Object.keys(workflows)).toContain(DASHBOARD_RECALCULATION_WORKFLOW);
  });
});
