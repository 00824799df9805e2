import { randomUUID } from 'node:crypto';
import { formatMoney, money } from '../domain/money';
import {
  PRODUCT_AGGREGATE,
  productEvent,
  type ProductChanges,
  type ProductEvent,
  type ProductFields,
} from '../domain/product-events';
import type { Prisma } from '../generated/prisma/client';
import type { Database, Tx } from '../platform/database';
import { isUniqueViolation } from '../platform/database-errors';
import { appendEvents, currentVersion } from '../events/event-store';
import { customerShardDatabase, withShardRouter } from '../platform/shards/customer-database';
import type { ShardRouter } from '../platform/shards/router';
import type { EventPosition } from '../read-models/projections/projection';

/**
 * The product write model: sellers create and change products, buyers review them. Each write is
 * one transaction that locks the product's row, changes the rows and appends the product's
 * domain events (with their outbox rows), so the read models projected from the events never
 * miss a change nor see one that was rolled back.
 *
 * The lock is FOR NO KEY UPDATE, not FOR UPDATE: orders insert order lines and reservations that
 * reference the product, and their foreign-key checks take KEY SHARE locks, which FOR UPDATE would
 * make wait for every product change; two product writers still exclude each other.
 */

export interface ProductView extends ProductFields {
  productId: string;
  sellerId: string;
  /** `12.50 EUR`: formatted from priceMinor, never by float division. */
  price: string;
  /** The product's event version: the ETag, and what If-Match names. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface ProductWriteResult {
  product: ProductView;
  /** The position of the write's last event (or the current one when nothing changed), for read-your-writes. */
  position: EventPosition;
}

export interface ReviewView {
  reviewId: string;
  productId: string;
  customerId: string;
  rating: number;
  body: string;
  createdAt: string;
}

export interface WriteOptions {
  /** Who asked, recorded on the events (API keys arrive with issue 9). */
  userId?: string;
}

/** A write the domain refuses; `code` is stable and the API maps it to a problem type. */
export abstract class ProductWriteError extends Error {
  abstract readonly code: string;
}

export class UnknownProduct extends ProductWriteError {
  readonly code = 'unknown-product';
  constructor(readonly productId: string) {
    super(`product ${productId} does not exist`);
  }
}

export class UnknownSeller extends ProductWriteError {
  readonly code = 'unknown-seller';
  constructor(readonly sellerId: string) {
    super(`seller ${sellerId} does not exist`);
  }
}

export class UnknownCustomer extends ProductWriteError {
  readonly code = 'unknown-customer';
  constructor(readonly customerId: string) {
    super(`customer ${customerId} does not exist`);
  }
}

export class DuplicateSku extends ProductWriteError {
  readonly code = 'duplicate-sku';
  constructor(
    readonly sellerId: string,
    readonly sku: string,
  ) {
    super(`seller ${sellerId} already has a product with sku ${sku}`);
  }
}

export class StockBelowReserved extends ProductWriteError {
  readonly code = 'stock-below-reserved';
  constructor(
    readonly stock: number,
    readonly reserved: number,
  ) {
    super(`stock ${stock} is below the ${reserved} units reserved for open orders`);
  }
}

export class NotABuyer extends ProductWriteError {
  readonly code = 'not-a-buyer';
  constructor(
    readonly customerId: string,
    readonly productId: string,
  ) {
    super(`customer ${customerId} has no shipped or delivered order of product ${productId}`);
  }
}

export class AlreadyReviewed extends ProductWriteError {
  readonly code = 'already-reviewed';
  constructor(
    readonly customerId: string,
    readonly productId: string,
  ) {
    super(`customer ${customerId} has already reviewed product ${productId}`);
  }
}

export class VersionMismatch extends ProductWriteError {
  readonly code = 'version-mismatch';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`expected version ${expected}, the product is at version ${actual}`);
  }
}

/** Only customers whose order of the product reached them (or is on its way) may review it. */
const BOUGHT_STATUSES = ['SHIPPED', 'DELIVERED'];

export async function createProduct(
  db: Database,
  input: ProductFields & { sellerId: string },
  options: WriteOptions = {},
): Promise<ProductWriteResult> {
  const productId = randomUUID();
  return db.$transaction(async (tx) => {
    const seller = await tx.seller.findUnique({ where: { id: input.sellerId }, select: { id: true } });
    if (!seller) throw new UnknownSeller(input.sellerId);
    const taken = await tx.product.findUnique({
      where: { sellerId_sku: { sellerId: input.sellerId, sku: input.sku } },
      select: { id: true },
    });
    if (taken) throw new DuplicateSku(input.sellerId, input.sku);

    const { stock, priceMinor, ...fields } = input;
    const row = await tx.product
      .create({
        data: { ...fields, id: productId, priceMinor: BigInt(priceMinor), inventory: { create: { onHand: stock } } },
        include: { inventory: true },
      })
      // Another request took the sku between the check and the insert.
      .catch((error: unknown) => {
        throw isUniqueViolation(error) ? new DuplicateSku(input.sellerId, input.sku) : error;
      });
    const created = productEvent('ProductCreated', fieldsOf(row));
    return written(row, await append(tx, productId, 0, productCreatedCausationKey(productId), [created], options));
  });
}

export async function updateProduct(
  db: Database,
  productId: string,
  changes: ProductChanges,
  options: WriteOptions & { expectedVersion?: number } = {},
): Promise<ProductWriteResult> {
  return db.$transaction(async (tx) => {
    await lockProduct(tx, productId);
    const version = await currentVersion(tx, productId);
    if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
      throw new VersionMismatch(options.expectedVersion, version);
    }
    if (changes.stock !== undefined) {
      // Orders reserve and ship against this row: hold it so `reserved` cannot grow past the new stock.
      await tx.$queryRaw`SELECT 1 FROM inventory WHERE product_id = ${productId}::uuid FOR NO KEY UPDATE`;
    }
    const row = await readProduct(tx, productId);
    const changed = changedFields(row, changes);
    if (Object.keys(changed).length === 0) return written(row, version);

    const reserved = row.inventory?.reserved ?? 0;
    if (changed.stock !== undefined && changed.stock < reserved) throw new StockBelowReserved(changed.stock, reserved);

    const { stock, priceMinor, ...fields } = changed;
    const updated = await tx.product.update({
      where: { id: productId },
      data: {
        ...fields,
        ...(priceMinor !== undefined ? { priceMinor: BigInt(priceMinor) } : {}),
        ...(stock !== undefined
          ? { inventory: { upsert: { create: { onHand: stock }, update: { onHand: stock } } } }
          : {}),
        // A stock-only change is still a change of the product.
        updatedAt: new Date(),
      },
      include: { inventory: true },
    });
    const base = await baselineIfUnrecorded(tx, row, version, options);
    const next = await append(
      tx,
      productId,
      base,
      `product:update:${productId}:${base + 1}`,
      [productEvent('ProductUpdated', { changes: changed })],
      options,
    );
    return written(updated, next);
  });
}

/**
 * A buyer's review. The customer and their orders live on the customer's shard (through
 * `options.shards`, or a router made for the call); the review and the product's event in the
 * catalogue. With the customer on the catalogue database (one database: always) the customer and
 * the purchase are checked in the review's own transaction, as ever; on another shard they are
 * read there under the product's lock (a purchase, once shipped, stays bought).
 */
export async function reviewProduct(
  db: Database,
  productId: string,
  review: { customerId: string; rating: number; body: string },
  options: WriteOptions & { shards?: ShardRouter } = {},
): Promise<ProductWriteResult & { reviewId: string; review: ReviewView }> {
  const reviewId = randomUUID();
  return withShardRouter(db, options.shards, async (router) => {
    const shard = await customerShardDatabase(router, review.customerId);
    return db.$transaction(async (tx) => {
      await lockProduct(tx, productId);
      await ensureBuyer(shard === db ? tx : shard, productId, review.customerId);
      // Under the product's lock, so a second review of the same customer waits and then finds this one.
      const earlier = await tx.productReview.findUnique({
        where: { productId_customerId: { productId, customerId: review.customerId } },
        select: { id: true },
      });
      if (earlier) throw new AlreadyReviewed(review.customerId, productId);

      const row = await readProduct(tx, productId);
      const stored = await tx.productReview.create({ data: { id: reviewId, productId, ...review } });
      const base = await baselineIfUnrecorded(tx, row, await currentVersion(tx, productId), options);
      const version = await append(
        tx,
        productId,
        base,
        `review:${reviewId}`,
        [productEvent('ProductReviewed', { reviewId, ...review })],
        options,
      );
      return {
        ...written(row, version),
        reviewId,
        review: { reviewId, productId, ...review, createdAt: stored.createdAt.toISOString() },
      };
    });
  });
}

/** UnknownCustomer or NotABuyer unless the customer has an order of the product shipped or delivered. */
async function ensureBuyer(
  orders: Pick<Tx, 'customer' | 'orderLine'>,
  productId: string,
  customerId: string,
): Promise<void> {
  const customer = await orders.customer.findUnique({ where: { id: customerId }, select: { id: true } });
  if (!customer) throw new UnknownCustomer(customerId);
  const bought = await orders.orderLine.findFirst({
    where: { productId, order: { customerId, status: { in: BOUGHT_STATUSES } } },
    select: { orderId: true },
  });
  if (!bought) throw new NotABuyer(customerId, productId);
}

type ProductRow = Prisma.ProductGetPayload<{ include: { inventory: true } }>;

async function lockProduct(tx: Tx, productId: string): Promise<void> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM products WHERE id = ${productId}::uuid FOR NO KEY UPDATE`;
  if (rows.length === 0) throw new UnknownProduct(productId);
}

async function readProduct(tx: Tx, productId: string): Promise<ProductRow> {
  return tx.product.findUniqueOrThrow({ where: { id: productId }, include: { inventory: true } });
}

/** The fields of `changes` whose value differs from the row's: what ProductUpdated carries. */
function changedFields(row: ProductRow, changes: ProductChanges): ProductChanges {
  const current = fieldsOf(row);
  const differs = ([field, value]: [string, unknown]): boolean =>
    value !== undefined && value !== current[field as keyof ProductChanges];
  return Object.fromEntries(Object.entries(changes).filter(differs));
}

function fieldsOf(row: ProductRow): ProductFields & { sellerId: string } {
  return {
    sellerId: row.sellerId,
    sku: row.sku,
    name: row.name,
    description: row.description,
    categoryPath: row.categoryPath,
    priceMinor: money(Number(row.priceMinor), row.currency).amountMinor,
    currency: row.currency,
    stock: row.inventory?.onHand ?? 0,
    active: row.active,
  };
}

/**
 * Products written before products had events (fixtures, older seeds) have none: their first
 * event must still be ProductCreated, so it is appended from the row as it was before this change.
 * Returns the version the change is appended on.
 */
async function baselineIfUnrecorded(tx: Tx, row: ProductRow, version: number, options: WriteOptions): Promise<number> {
  if (version > 0) return version;
  return append(
    tx,
    row.id,
    0,
    productCreatedCausationKey(row.id),
    [productEvent('ProductCreated', fieldsOf(row))],
    options,
  );
}

/** The causation key of a product's ProductCreated (also what the catalogue seed writes). */
export function productCreatedCausationKey(productId: string): string {
  return `product:create:${productId}`;
}

async function append(
  tx: Tx,
  productId: string,
  expectedVersion: number,
  causationKey: string,
  events: ProductEvent[],
  options: WriteOptions,
): Promise<number> {
  const result = await appendEvents(tx, {
    aggregateType: PRODUCT_AGGREGATE,
    aggregateId: productId,
    expectedVersion,
    events,
    correlation: { causationKey, ...(options.userId !== undefined ? { userId: options.userId } : {}) },
  });
  return result.version;
}

function written(row: ProductRow, version: number): ProductWriteResult {
  return {
    product: productView(row, version),
    position: { aggregateType: PRODUCT_AGGREGATE, aggregateId: row.id, version },
  };
}

export function productView(row: ProductRow, version: number): ProductView {
  const fields = fieldsOf(row);
  return {
    productId: row.id,
    ...fields,
    price: formatMoney(money(fields.priceMinor, fields.currency)),
    version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
