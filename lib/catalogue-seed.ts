import { Faker, en } from '@faker-js/faker';
import type { Database } from './database';

/**
 * A realistic marketplace catalogue for demos, benchmarks and manual testing: sellers with their
 * own commission rates, products in a category tree with prices and stock, customers with
 * addresses. Generated from a seed, so the same seed gives the same catalogue, and seeding twice
 * with one seed writes nothing the second time.
 */

export interface SeedOptions {
  sellers: number;
  products: number;
  customers: number;
  maxStock: number;
  currency: string;
  seed: number;
}

export interface SeedProgress {
  phase: 'sellers' | 'products' | 'customers';
  done: number;
  total: number;
}

export interface SeedResult {
  sellers: number;
  products: number;
  customers: number;
}

const BATCH = 500;

const categoryTree: Record<string, string[]> = {
  electronics: ['phones', 'laptops', 'audio', 'cameras'],
  home: ['kitchen', 'furniture', 'lighting', 'garden'],
  fashion: ['shoes', 'bags', 'jackets', 'accessories'],
  sports: ['cycling', 'running', 'camping', 'fitness'],
  books: ['fiction', 'science', 'children', 'cooking'],
};
const categoryPaths = Object.entries(categoryTree).flatMap(([top, subs]) => subs.map((sub) => `${top}/${sub}`));

export async function seedCatalogue(
  db: Database,
  options: SeedOptions,
  onProgress: (progress: SeedProgress) => void = () => undefined,
): Promise<SeedResult> {
  const faker = new Faker({ locale: [en], seed: options.seed });

  const sellers = Array.from({ length: options.sellers }, () => ({
    id: faker.string.uuid(),
    name: faker.company.name(),
    email: faker.internet.email({ provider: 'sellers.example' }).toLowerCase(),
    // Some sellers negotiated their own rate; the rest pay the platform default (null).
    commissionRateBps: faker.datatype.boolean(0.4) ? faker.helpers.arrayElement([500, 800, 1200, 1500]) : null,
  }));
  const written = { sellers: 0, products: 0, customers: 0 };
  written.sellers = await inBatches(sellers, 'sellers', onProgress, (batch) =>
    db.seller.createMany({ data: batch, skipDuplicates: true }),
  );

  const products = Array.from({ length: options.products }, (_, index) => {
    const seller = sellers[index % sellers.length]!;
    return {
      id: faker.string.uuid(),
      sellerId: seller.id,
      sku: `${faker.string.alphanumeric({ length: 4, casing: 'upper' })}-${index + 1}`,
      name: faker.commerce.productName(),
      description: faker.commerce.productDescription(),
      categoryPath: faker.helpers.arrayElement(categoryPaths),
      // Prices in whole cents, skewed towards everyday amounts as real catalogues are.
      priceMinor: Math.round(faker.number.float({ min: 1, max: 2.8, fractionDigits: 4 }) ** 6 * 100),
      currency: options.currency,
      stock: faker.number.int({ min: 0, max: options.maxStock }),
    };
  });
  written.products = await inBatches(products, 'products', onProgress, async (batch) => {
    const result = await db.product.createMany({
      data: batch.map(({ stock: _stock, ...product }) => product),
      skipDuplicates: true,
    });
    await db.inventory.createMany({
      data: batch.map((p) => ({ productId: p.id, onHand: p.stock })),
      skipDuplicates: true,
    });
    return result;
  });

  const customers = Array.from({ length: options.customers }, () => {
    const id = faker.string.uuid();
    const firstName = faker.person.firstName();
    const lastName = faker.person.lastName();
    return {
      customer: {
        id,
        name: `${firstName} ${lastName}`,
        email: faker.internet.email({ firstName, lastName, provider: 'customers.example' }).toLowerCase(),
      },
      address: {
        customerId: id,
        label: 'home',
        recipient: `${firstName} ${lastName}`,
        line1: faker.location.streetAddress(),
        city: faker.location.city(),
        postalCode: faker.location.zipCode(),
        country: faker.helpers.arrayElement(['DE', 'FR', 'NL', 'GB', 'ES', 'IT']),
      },
    };
  });
  written.customers = await inBatches(customers, 'customers', onProgress, async (batch) => {
    const result = await db.customer.createMany({ data: batch.map((c) => c.customer), skipDuplicates: true });
    const fresh = new Set(
      (await db.customerAddress.findMany({ where: { customerId: { in: batch.map((c) => c.customer.id) } } })).map(
        (a) => a.customerId,
      ),
    );
    await db.customerAddress.createMany({ data: batch.filter((c) => !fresh.has(c.customer.id)).map((c) => c.address) });
    return result;
  });
  return written;
}

async function inBatches<T>(
  rows: T[],
  phase: SeedProgress['phase'],
  onProgress: (progress: SeedProgress) => void,
  write: (batch: T[]) => Promise<{ count: number }>,
): Promise<number> {
  let written = 0;
  onProgress({ phase, done: 0, total: rows.length });
  for (let start = 0; start < rows.length; start += BATCH) {
    const batch = rows.slice(start, start + BATCH);
    written += (await write(batch)).count;
    onProgress({ phase, done: start + batch.length, total: rows.length });
  }
  return written;
}
