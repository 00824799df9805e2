import {
  priceOrder,
  type CatalogueProduct,
  type PricingProblem,
  type PricingResult,
  type RequestedItem,
} from '../../domain/pricing';

function product(id: string, overrides: Partial<CatalogueProduct> = {}): CatalogueProduct {
  return {
    id,
    sellerId: 's_anna',
    name: id,
    priceMinor: 1000,
    currency: 'EUR',
    active: true,
    commissionRateBps: 1000,
    ...overrides,
  };
}

function catalogueOf(...products: CatalogueProduct[]): ReadonlyMap<string, CatalogueProduct> {
  return new Map(products.map((p) => [p.id, p]));
}

function problemsOf(result: PricingResult): PricingProblem[] {
  if (result.ok) throw new Error('expected pricing problems, the order was priced');
  return result.problems;
}

/** The problems without their messages, which are asserted separately where they matter. */
function codesOf(result: PricingResult) {
  return problemsOf(result).map(({ itemIndex, field, code }) => ({ itemIndex, field, code }));
}

describe('priceOrder', () => {
  // Anna sells mugs at 15 % and teapots at 12.5 % commission, Ben sells tea at 10 %.
  const catalogue = catalogueOf(
    product('p_mug', { sellerId: 's_anna', name: 'Mug', priceMinor: 1250, commissionRateBps: 1500 }),
    product('p_tea', { sellerId: 's_ben', name: 'Green tea', priceMinor: 899, commissionRateBps: 1000 }),
    product('p_pot', { sellerId: 's_anna', name: 'Teapot', priceMinor: 3333, commissionRateBps: 1250 }),
  );

  it('prices a two-seller order with commission per line and a payout per seller', () => {
    const items: RequestedItem[] = [
      { productId: 'p_mug', quantity: 3 },
      { productId: 'p_tea', quantity: 2 },
      { productId: 'p_pot', quantity: 1 },
    ];

    const result = priceOrder(items, catalogue);

    expect(result).toEqual({
      ok: true,
      order: {
        currency: 'EUR',
        lines: [
          // 3 x 12.50 = 37.50; 15 % is 5.625, rounded half-up to 5.63.
          {
            lineNo: 1,
            productId: 'p_mug',
            sellerId: 's_anna',
            name: 'Mug',
            quantity: 3,
            unitPriceMinor: 1250,
            lineTotalMinor: 3750,
            commissionRateBps: 1500,
            commissionMinor: 563,
          },
          // 2 x 8.99 = 17.98; 10 % is 1.798, rounded to 1.80.
          {
            lineNo: 2,
            productId: 'p_tea',
            sellerId: 's_ben',
            name: 'Green tea',
            quantity: 2,
            unitPriceMinor: 899,
            lineTotalMinor: 1798,
            commissionRateBps: 1000,
            commissionMinor: 180,
          },
          // 1 x 33.33; 12.5 % is 4.16625, rounded to 4.17.
          {
            lineNo: 3,
            productId: 'p_pot',
            sellerId: 's_anna',
            name: 'Teapot',
            quantity: 1,
            unitPriceMinor: 3333,
            lineTotalMinor: 3333,
            commissionRateBps: 1250,
            commissionMinor: 417,
          },
        ],
        // Anna first (line 1): 37.50 + 33.33 = 70.83, commission 5.63 + 4.17 = 9.80, payout 61.03.
        sellers: [
          { sellerId: 's_anna', lines: [1, 3], subtotalMinor: 7083, commissionMinor: 980, payoutMinor: 6103 },
          { sellerId: 's_ben', lines: [2], subtotalMinor: 1798, commissionMinor: 180, payoutMinor: 1618 },
        ],
        itemCount: 6,
        subtotalMinor: 8881,
        commissionMinor: 1160,
        totalMinor: 8881,
      },
    });
  });

  it('pays out to sellers exactly what the customer pays minus commission', () => {
    const result = priceOrder(
      [
        { productId: 'p_tea', quantity: 7 },
        { productId: 'p_mug', quantity: 1 },
      ],
      catalogue,
    );
    if (!result.ok) throw new Error('expected a priced order');
    const payouts = result.order.sellers.reduce((acc, seller) => acc + seller.payoutMinor, 0);
    expect(payouts + result.order.commissionMinor).toBe(result.order.totalMinor);
    expect(result.order.sellers.map((seller) => seller.sellerId)).toEqual(['s_ben', 's_anna']);
  });

  it('names the item of an unknown or inactive product', () => {
    const withRetired = catalogueOf(product('p_mug'), product('p_old', { active: false }));
    const result = priceOrder(
      [
        { productId: 'p_mug', quantity: 1 },
        { productId: 'p_gone', quantity: 1 },
        { productId: 'p_old', quantity: 2 },
      ],
      withRetired,
    );
    expect(codesOf(result)).toEqual([
      { itemIndex: 1, field: 'productId', code: 'unknown-product' },
      { itemIndex: 2, field: 'productId', code: 'inactive-product' },
    ]);
  });

  it('refuses products in another currency than the first item', () => {
    const mixed = catalogueOf(product('p_eur'), product('p_usd', { currency: 'USD' }), product('p_eur2'));
    const result = priceOrder(
      [
        { productId: 'p_eur', quantity: 1 },
        { productId: 'p_usd', quantity: 1 },
        { productId: 'p_eur2', quantity: 1 },
      ],
      mixed,
    );
    expect(codesOf(result)).toEqual([{ itemIndex: 1, field: 'items', code: 'mixed-currency' }]);
    expect(problemsOf(result)[0]?.message).toBe('product p_usd is priced in USD, the order in EUR');
  });

  it('reports a product sent twice instead of merging the lines', () => {
    const result = priceOrder(
      [
        { productId: 'p_mug', quantity: 1 },
        { productId: 'p_tea', quantity: 1 },
        { productId: 'p_mug', quantity: 2 },
      ],
      catalogue,
    );
    expect(codesOf(result)).toEqual([{ itemIndex: 2, field: 'productId', code: 'duplicate-product' }]);
    expect(problemsOf(result)[0]?.message).toMatch(/already item 0/);
  });

  it('reports every problem of the request at once', () => {
    const result = priceOrder(
      [
        { productId: 'p_gone', quantity: 1 },
        { productId: 'p_gone', quantity: 1 },
        { productId: 'p_mug', quantity: 1 },
        { productId: 'p_nope', quantity: 1 },
      ],
      catalogue,
    );
    expect(codesOf(result).map((problem) => [problem.itemIndex, problem.code])).toEqual([
      [0, 'unknown-product'],
      [1, 'duplicate-product'],
      [3, 'unknown-product'],
    ]);
  });

  it('throws on quantities the API schema should have rejected', () => {
    for (const quantity of [0, -1, 1.5, NaN]) {
      expect(() => priceOrder([{ productId: 'p_mug', quantity }], catalogue)).toThrow(RangeError);
    }
    expect(() => priceOrder([], catalogue)).toThrow(RangeError);
  });

  it('throws on catalogue rows that break the money rules', () => {
    const broken = catalogueOf(
      product('p_float', { priceMinor: 12.5 }),
      product('p_rate', { commissionRateBps: 10_001 }),
    );
    expect(() => priceOrder([{ productId: 'p_float', quantity: 1 }], broken)).toThrow(RangeError);
    expect(() => priceOrder([{ productId: 'p_rate', quantity: 1 }], broken)).toThrow(RangeError);
  });
});
