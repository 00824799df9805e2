import {
  applyProductEvent,
  InvalidProductEvent,
  isProductEventType,
  productEvent,
  type ProductEvent,
  type ProductState,
} from '../../domain/product-events';

/** A product's state is the fold of its events: what snapshots, rebuilds and "as of" reads rely on. */
describe('product events', () => {
  const created = productEvent('ProductCreated', {
    sellerId: '6f1c7d1e-9a41-4f0e-8a0c-1f3b7b1f9a01',
    sku: 'GRND-1',
    name: 'Espresso grinder',
    description: 'Conical burrs',
    categoryPath: 'home/kitchen',
    priceMinor: 12_950,
    currency: 'EUR',
    stock: 20,
    active: true,
  });
  const fold = (events: ProductEvent[]): ProductState | undefined =>
    events.reduce<ProductState | undefined>(applyProductEvent, undefined);

  it('starts a product from ProductCreated, with no reviews', () => {
    expect(fold([created])).toEqual({ ...created.payload, reviewCount: 0, ratingSum: 0 });
  });

  it('changes only the fields ProductUpdated carries', () => {
    const state = fold([
      created,
      productEvent('ProductUpdated', { changes: { priceMinor: 9_900, active: false } }),
      productEvent('ProductUpdated', { changes: { stock: 0 } }),
    ]);

    expect(state).toEqual({
      ...created.payload,
      priceMinor: 9_900,
      active: false,
      stock: 0,
      reviewCount: 0,
      ratingSum: 0,
    });
  });

  it('counts reviews and sums their ratings, leaving the product fields alone', () => {
    const review = (rating: number) =>
      productEvent('ProductReviewed', { reviewId: `r${rating}`, customerId: `c${rating}`, rating, body: 'ok' });

    const state = fold([created, review(5), review(2)]);

    expect(state).toEqual({ ...created.payload, reviewCount: 2, ratingSum: 7 });
  });

  it('does not mutate the state it is given', () => {
    const before = fold([created])!;
    const snapshot = structuredClone(before);

    applyProductEvent(before, productEvent('ProductUpdated', { changes: { name: 'Grinder' } }));

    expect(before).toEqual(snapshot);
  });

  it('refuses a second ProductCreated', () => {
    expect(() => fold([created, created])).toThrow(InvalidProductEvent);
  });

  it.each([
    productEvent('ProductUpdated', { changes: { stock: 1 } }),
    productEvent('ProductReviewed', { reviewId: 'r', customerId: 'c', rating: 3, body: '' }),
  ])('refuses $type before ProductCreated', (event) => {
    expect(() => applyProductEvent(undefined, event)).toThrow(`${event.type} before ProductCreated`);
  });

  it('knows its event types', () => {
    expect(['ProductCreated', 'ProductUpdated', 'ProductReviewed'].every(isProductEventType)).toBe(true);
    expect(isProductEventType('OrderPlaced')).toBe(false);
  });
});
