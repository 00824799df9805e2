import { Faker, en } from '@faker-js/faker';
import { PRODUCT_AGGREGATE, type ProductEventPayloads } from '../domain/product-events';
import type { Database } from '../platform/database';
import { customerShardDatabase, withShardRouter } from '../platform/shards/customer-database';
import type { ShardRouter } from '../platform/shards/router';
import { eventStreamName } from '../events/outbox-relay';
import { productCreatedCausationKey } from './product-store';

/**
 * A realistic marketplace catalogue for demos, benchmarks and manual testing: sellers with their
 * own commission rates, products in a category tree with prices and stock, customers with
 * addresses. Generated from a seed, so the same seed gives the same catalogue, and seeding twice
 * with one seed writes nothing the second time. Sellers and products go to the catalogue
 * database; each customer and their address to the customer's shard, as the shard router says
 * (with one database, the catalogue too).
 *
 * Every product also gets its ProductCreated event and outbox row, in the transaction that writes
 * its rows, so the read models can be built from the event store alone. Products are written
 * set-based, one statement per batch and table (jsonb_to_recordset), not one appendEvents per
 * product: such a statement is about ten times faster than Prisma's createMany of the same rows.
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
  /** ProductCreated events appended (with their outbox rows) for the products. */
  productEvents: number;
  customers: number;
}

const BATCH = 500;
/** Product batches in flight at once: the database works on one while the next one travels. */
const PARALLEL_PRODUCT_BATCHES = 4;

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
  /** Routes each customer to their shard; without one, a router is made for the seed. */
  shards?: ShardRouter,
): Promise<SeedResult> {
  const faker = new Faker({ locale: [en], seed: options.seed });

  const sellers = Array.from({ length: options.sellers }, () => ({
    id: faker.string.uuid(),
    name: faker.company.name(),
    email: faker.internet.email({ provider: 'sellers.example' }).toLowerCase(),
    // Some sellers negotiated their own rate; the rest pay the platform default (null).
    commissionRateBps: faker.datatype.boolean(0.4) ? faker.helpers.arrayElement([500, 800, 1200, 1500]) : null,
  }));
  const written: SeedResult = { sellers: 0, products: 0, productEvents: 0, customers: 0 };
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
  written.products = await inBatches(
    products,
    'products',
    onProgress,
    async (batch) => {
      const { inserted, events } = await writeProducts(db, batch);
      written.productEvents += events;
      return { count: inserted };
    },
    PARALLEL_PRODUCT_BATCHES,
  );

  const customers = Array.from({ length: options.customers }, (_, index) => {
    const id = faker.string.uuid();
    const firstName = faker.person.firstName();
    const lastName = faker.person.lastName();
    return {
      customer: {
        id,
        name: `${firstName} ${lastName}`,
        // Faker repeats names: the index keeps every email unique (emails are a unique key).
        email: numbered(faker.internet.email({ firstName, lastName, provider: 'customers.example' }), index),
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
  written.customers = await withShardRouter(db, shards, async (router) => {
    const shardOf = new Map<string, Database>();
    for (const { customer } of customers) shardOf.set(customer.id, await customerShardDatabase(router, customer.id));
    return inBatches(customers, 'customers', onProgress, async (batch) => {
      let count = 0;
      for (const shard of new Set(batch.map((c) => shardOf.get(c.customer.id)!))) {
        count += await writeCustomers(
          shard,
          batch.filter((c) => shardOf.get(c.customer.id) === shard),
        );
      }
      return { count };
    });
  });
  return written;
}

type SeedCustomer = {
  customer: { id: string; name: string; email: string };
  address: {
    customerId: string;
    label: string;
    recipient: string;
    line1: string;
    city: string;
    postalCode: string;
    country: string;
  };
};

/** Customers of one shard and their addresses; returns how many customers were new. */
async function writeCustomers(db: Database, batch: SeedCustomer[]): Promise<number> {
  const result = await db.customer.createMany({ data: batch.map((c) => c.customer), skipDuplicates: true });
  const ids = batch.map((c) => c.customer.id);
  // An address for each customer of the batch that exists (skipped duplicates do not) and has none yet.
  const existing = new Set(
    (await db.customer.findMany({ where: { id: { in: ids } }, select: { id: true } })).map((c) => c.id),
  );
  const addressed = new Set(
    (await db.customerAddress.findMany({ where: { customerId: { in: ids } }, select: { customerId: true } })).map(
      (a) => a.customerId,
    ),
  );
  await db.customerAddress.createMany({
    data: batch.filter((c) => existing.has(c.customer.id) && !addressed.has(c.customer.id)).map((c) => c.address),
  });
  return result.count;
}

/** `ada.lovelace@x` → `ada.lovelace.42@x`. */
function numbered(email: string, index: number): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, at)}.${index + 1}${email.slice(at)}`.toLowerCase();
}

async function inBatches<T>(
  rows: T[],
  phase: SeedProgress['phase'],
  onProgress: (progress: SeedProgress) => void,
  write: (batch: T[]) => Promise<{ count: number }>,
  concurrency = 1,
): Promise<number> {
  let written = 0;
  let done = 0;
  let next = 0;
  onProgress({ phase, done: 0, total: rows.length });
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const batch = rows.slice(next, next + BATCH);
      next += batch.length;
      // Awaited before adding: `written += await …` would read `written` before another batch added to it.
      const { count } = await write(batch);
      written += count;
      done += batch.length;
      onProgress({ phase, done, total: rows.length });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return written;
}

type SeedProduct = Omit<ProductEventPayloads['ProductCreated'], 'active'> & { id: string };

/**
 * One batch of products, their stock and their ProductCreated events, in one transaction. Events
 * go to every product of the batch that has none yet, so a product seeded before products had
 * events gets its own, and a second run with the same seed finds them all and writes nothing.
 */
async function writeProducts(db: Database, batch: SeedProduct[]): Promise<{ inserted: number; events: number }> {
  const rows = JSON.stringify(batch);
  const ids = batch.map((p) => p.id);
  return db.$transaction(
    async (tx) => {
      const inserted = await tx.$executeRawUnsafe(
        `INSERT INTO products (id, seller_id, sku, name, description, category_path, price_minor, currency)
       SELECT id, "sellerId", sku, name, description, "categoryPath", "priceMinor", currency
       FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "sellerId" uuid, sku text, name text, description text,
         "categoryPath" text, "priceMinor" bigint, currency text)
       ON CONFLICT DO NOTHING`,
        rows,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO inventory (product_id, on_hand)
       SELECT id, stock FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, stock int)
       ON CONFLICT DO NOTHING`,
        rows,
      );
      const events = await tx.$executeRawUnsafe(
        `WITH appended AS (
         INSERT INTO domain_events (id, aggregate_type, aggregate_id, version, event_type, payload,
           partition_key, stream_id, causation_key)
         SELECT gen_random_uuid(), $2::text, p.id, 1, 'ProductCreated', ${createdPayloadSql},
           p.id::text, $2::text || '-' || p.id, k.causation_key
         FROM unnest($1::uuid[], $3::text[]) AS k(id, causation_key)
         JOIN products p ON p.id = k.id
         LEFT JOIN inventory i ON i.product_id = p.id
         WHERE NOT EXISTS (SELECT 1 FROM domain_events e WHERE e.aggregate_id = p.id)
         ORDER BY k.id
         RETURNING id, aggregate_id, version, event_type, payload
       )
       INSERT INTO outbox_events (event_id, aggregate_type, aggregate_id, version, event_type, payload, stream)
       SELECT id, $2::text, aggregate_id, version, event_type, payload, $4::text FROM appended`,
        ids,
        PRODUCT_AGGREGATE,
        ids.map(productCreatedCausationKey),
        eventStreamName(PRODUCT_AGGREGATE),
      );
      return { inserted, events };
    },
    // Batches in flight wait for a connection of the pool rather than fail after the default 2 s.
    { timeout: 60_000, maxWait: 60_000 },
  );
}

/**
 * ProductCreated's payload built from the product's rows (what is stored, also for a product seeded
 * earlier), as events/event-store.ts would store it; the Record makes the compiler check that every
 * field of the payload, and no other, is here.
 */
const createdPayloadColumns: Record<keyof ProductEventPayloads['ProductCreated'], string> = {
  sellerId: 'p.seller_id',
  sku: 'p.sku',
  name: 'p.name',
  description: 'p.description',
  categoryPath: 'p.category_path',
  priceMinor: 'p.price_minor',
  currency: 'p.currency',
  stock: 'coalesce(i.on_hand, 0)',
  active: 'p.active',
};
const createdPayloadSql = `jsonb_build_object(${Object.entries(createdPayloadColumns)
  .map(([field, column]) => `'${field}', ${column}`)
  .join(', ')})`;
