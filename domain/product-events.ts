/**
 * What happened to a product, as domain events (aggregate type `product`), and the pure reducer
 * that folds them into the product's state. Sellers create and change products and customers
 * review them through the API (api/catalogue/product-routes.ts); each change appends one of these events
 * with its outbox row, and the read models (product search, seller dashboards) are projected
 * from them.
 */

export const PRODUCT_AGGREGATE = 'product';

/** The fields a seller sets. `stock` is the units on hand (the inventory row's on_hand). */
export interface ProductFields {
  sku: string;
  name: string;
  description: string;
  categoryPath: string;
  priceMinor: number;
  currency: string;
  stock: number;
  active: boolean;
}

/** What a PATCH may change; `sku` and `currency` are fixed once a product exists. */
export type ProductChanges = Partial<
  Pick<ProductFields, 'name' | 'description' | 'categoryPath' | 'priceMinor' | 'stock' | 'active'>
>;

export interface ProductEventPayloads {
  ProductCreated: ProductFields & { sellerId: string };
  /** Only the fields that changed, with their new values. */
  ProductUpdated: { changes: ProductChanges };
  ProductReviewed: { reviewId: string; customerId: string; rating: number; body: string };
}

export type ProductEventType = keyof ProductEventPayloads;

export type ProductEvent = { [T in ProductEventType]: { type: T; payload: ProductEventPayloads[T] } }[ProductEventType];

export const productEventTypes = [
  'ProductCreated',
  'ProductUpdated',
  'ProductReviewed',
] as const satisfies readonly ProductEventType[];

export function productEvent<T extends ProductEventType>(type: T, payload: ProductEventPayloads[T]): ProductEvent {
  return { type, payload } as ProductEvent;
}

export interface ProductState extends ProductFields {
  sellerId: string;
  reviewCount: number;
  ratingSum: number;
}

export class InvalidProductEvent extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidProductEvent';
  }
}

/** The state after `event`; pure. */
export function applyProductEvent(state: ProductState | undefined, event: ProductEvent): ProductState {
  if (event.type === 'ProductCreated') {
    if (state) throw new InvalidProductEvent('ProductCreated on a product that already exists');
    return { ...event.payload, reviewCount: 0, ratingSum: 0 };
  }
  if (!state) throw new InvalidProductEvent(`${event.type} before ProductCreated`);
  switch (event.type) {
    case 'ProductUpdated':
      return { ...state, ...event.payload.changes };
    case 'ProductReviewed':
      return { ...state, reviewCount: state.reviewCount + 1, ratingSum: state.ratingSum + event.payload.rating };
  }
}

export function isProductEventType(value: string): value is ProductEventType {
  return (productEventTypes as readonly string[]).includes(value);
}
