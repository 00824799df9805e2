import { randomUUID } from 'node:crypto';
import type { Customer, Product, Seller } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';
import type { ShippingAddress } from '../../workflows/orders/order-contract';

/**
 * Catalogue rows for tests, written straight into the test database. Every helper makes unique
 * names and emails, so tests (and test files running side by side) never collide.
 */

const unique = (): string => randomUUID().slice(0, 8);

export async function createSeller(
  db: Database,
  overrides: { name?: string; email?: string; commissionRateBps?: number | null } = {},
): Promise<Seller> {
  const suffix = unique();
  return db.seller.create({
    data: {
      name: overrides.name ?? `Seller ${suffix}`,
      email: overrides.email ?? `seller-${suffix}@example.test`,
      commissionRateBps: overrides.commissionRateBps ?? null,
    },
  });
}

export interface ProductSpec {
  sellerId: string;
  name?: string;
  sku?: string;
  /** Price in minor units of `currency`. */
  priceMinor?: number;
  currency?: string;
  active?: boolean;
  /** Units on hand; the product gets an inventory row with this many. */
  stock?: number;
  categoryPath?: string;
}

export async function createProduct(db: Database, spec: ProductSpec): Promise<Product> {
  const suffix = unique();
  return db.product.create({
    data: {
      sellerId: spec.sellerId,
      sku: spec.sku ?? `SKU-${suffix}`,
      name: spec.name ?? `Product ${suffix}`,
      categoryPath: spec.categoryPath ?? 'test/products',
      priceMinor: BigInt(spec.priceMinor ?? 1_000),
      currency: spec.currency ?? 'EUR',
      active: spec.active ?? true,
      inventory: { create: { onHand: spec.stock ?? 100 } },
    },
  });
}

export async function createCustomer(
  db: Database,
  overrides: { name?: string; email?: string } = {},
): Promise<Customer> {
  const suffix = unique();
  return db.customer.create({
    data: { name: overrides.name ?? `Customer ${suffix}`, email: overrides.email ?? `customer-${suffix}@example.test` },
  });
}

/** A seller with one product of each given spec (defaults: one product, 10.00 EUR, 100 in stock). */
export async function createSellerWithProducts(
  db: Database,
  specs: Omit<ProductSpec, 'sellerId'>[] = [{}],
  seller: Parameters<typeof createSeller>[1] = {},
): Promise<{ seller: Seller; products: Product[] }> {
  const created = await createSeller(db, seller);
  const products: Product[] = [];
  for (const spec of specs) products.push(await createProduct(db, { ...spec, sellerId: created.id }));
  return { seller: created, products };
}

/** An address the simulated carrier delivers to (country `ZZ` is the one it refuses). */
export const deliverableAddress: ShippingAddress = {
  recipient: 'Ada Lovelace',
  line1: '12 St James Square',
  city: 'London',
  postalCode: 'SW1Y 4JH',
  country: 'GB',
};

/** A valid POST /v1/orders body for the customer and items; `overrides` replace top-level fields. */
export function orderRequestBody(
  customerId: string,
  items: { productId: string; quantity: number }[],
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    customerId,
    items,
    shippingAddress: deliverableAddress,
    payment: { token: 'tok_visa' },
    ...overrides,
  };
}
