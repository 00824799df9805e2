import { Router, type Response } from 'express';
import { z } from 'zod';
import { isUuid } from '../../domain/ids';
import { money } from '../../domain/money';
import {
  AlreadyReviewed,
  createProduct,
  DuplicateSku,
  NotABuyer,
  ProductWriteError,
  reviewProduct,
  StockBelowReserved,
  UnknownCustomer,
  UnknownProduct,
  UnknownSeller,
  updateProduct,
  VersionMismatch,
  type ProductWriteResult,
} from '../../catalogue/product-store';
import { formatPosition, POSITION_HEADER, type EventPosition } from '../../read-models/projections/projection';
import { actsForSeller, allowRoles, ensureVisible, parseBodyActingFor, principalOf } from '../access/access';
import type { AppDeps } from '../deps';
import { HttpProblem, notFound, problemTypes } from '../http/problem';
import { parseOrProblem } from '../http/validation';

/**
 * Sellers' product writes and buyers' reviews. Each answer carries the position of the write's
 * last event (Shopflow-Position) so the client can read its own write from the read models, and
 * products carry their version as a strong ETag that PATCH takes back in If-Match.
 *
 * Sellers write their own products (another seller's product is a 404); operators any product.
 * Customers review as themselves.
 */

/** Problem types of product writes (beside api/http/problem.ts's shared ones). */
export const productProblemTypes = {
  unprocessableProduct: 'unprocessable-product',
  unprocessableReview: 'unprocessable-review',
  duplicateSku: 'duplicate-sku',
  alreadyReviewed: 'already-reviewed',
  notABuyer: 'not-a-buyer',
  preconditionFailed: 'precondition-failed',
} as const;

const MAX_STOCK = 2_147_483_647; // inventory.on_hand is an int4

const uuid = z.string().refine(isUuid, 'must be a UUID');
const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const knownCurrencies = new Set(Intl.supportedValuesOf('currency'));
/** money() holds the rule for what a currency code looks like; the runtime's ICU data says whether it exists. */
const isCurrency = (code: string): boolean => {
  try {
    return money(0, code).currency === code && knownCurrencies.has(code);
  } catch {
    return false;
  }
};

const fields = {
  sku: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-"'),
  name: text(300),
  description: z.string().trim().max(5000, 'must be at most 5000 characters'),
  categoryPath: z
    .string()
    .max(500, 'must be at most 500 characters')
    .regex(/^[a-z0-9-]+(\/[a-z0-9-]+)*$/, 'must be lower-case segments separated by "/", e.g. home/kitchen'),
  priceMinor: z
    .number({ error: 'must be a number' })
    .int('must be a whole number of minor units')
    .min(0, 'must not be negative'),
  currency: z.string().refine(isCurrency, 'must be an ISO 4217 currency code, e.g. EUR'),
  stock: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(MAX_STOCK, `must be at most ${MAX_STOCK}`),
  active: z.boolean({ error: 'must be true or false' }),
};

export const createProductBody = z
  .object({
    // A seller key's own seller when left out; operators name one.
    sellerId: uuid.optional(),
    sku: fields.sku,
    name: fields.name,
    description: fields.description.default(''),
    categoryPath: fields.categoryPath,
    priceMinor: fields.priceMinor,
    currency: fields.currency,
    stock: fields.stock,
    active: fields.active.default(true),
  })
  .strict();

/** sku and currency are fixed once a product exists: a PATCH naming them is refused as unknown fields. */
export const updateProductBody = z
  .object({
    name: fields.name.optional(),
    description: fields.description.optional(),
    categoryPath: fields.categoryPath.optional(),
    priceMinor: fields.priceMinor.optional(),
    stock: fields.stock.optional(),
    active: fields.active.optional(),
  })
  .strict()
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: 'must change at least one field',
    // Only for an otherwise valid body: a PATCH of just `sku` is one unknown field, not two problems.
    when: (payload) => payload.issues.length === 0,
  });

export const reviewBody = z
  .object({
    // A customer key's own customer when left out; operators name one.
    customerId: uuid.optional(),
    rating: z
      .number({ error: 'must be a number' })
      .int('must be a whole number from 1 to 5')
      .min(1, 'must be from 1 to 5')
      .max(5, 'must be from 1 to 5'),
    body: text(5000),
  })
  .strict();

export const productPath = z.object({ productId: uuid });

export function productRoutes({ db, shards }: AppDeps): Router {
  const router = Router();

  router.post('/v1/products', allowRoles('seller', 'operator'), async (req, res) => {
    const { body, actingFor: sellerId } = parseBodyActingFor(req, createProductBody, 'sellerId');
    const result = await refusedAsProblem(() => createProduct(db, { ...body, sellerId }));
    res.location(`/v1/products/${result.product.productId}`);
    sendProduct(res, 201, result);
  });

  router.patch('/v1/products/:productId', allowRoles('seller', 'operator'), async (req, res) => {
    const { productId } = parseOrProblem(productPath, req.params, 'path');
    const expectedVersion = parseIfMatch(req.headers['if-match']);
    const changes = parseOrProblem(updateProductBody, req.body, 'body');
    const principal = principalOf(req);
    if (principal.role !== 'operator') {
      // A product's seller never changes, so checking before the write's own transaction is safe.
      const product = await db.product.findUnique({ where: { id: productId }, select: { sellerId: true } });
      ensureVisible(product !== null && actsForSeller(principal, product.sellerId), `product ${productId}`);
    }
    const result = await refusedAsProblem(() =>
      updateProduct(db, productId, changes, expectedVersion === undefined ? {} : { expectedVersion }),
    );
    sendProduct(res, 200, result);
  });

  router.post('/v1/products/:productId/reviews', allowRoles('customer', 'operator'), async (req, res) => {
    const { productId } = parseOrProblem(productPath, req.params, 'path');
    const { body: review, actingFor: customerId } = parseBodyActingFor(req, reviewBody, 'customerId');
    const result = await refusedAsProblem(() =>
      reviewProduct(db, productId, { ...review, customerId }, shards ? { shards } : {}),
    );
    setPosition(res, result.position);
    res.status(201).json({ ...result.review, productVersion: result.product.version });
  });

  return router;
}

function sendProduct(res: Response, status: number, { product, position }: ProductWriteResult): void {
  setPosition(res, position);
  res.set('ETag', `"${product.version}"`).status(status).json(product);
}

function setPosition(res: Response, position: EventPosition): void {
  // Version 0: a product from before events that a no-op PATCH left without any; nothing to wait for.
  if (position.version > 0) res.set(POSITION_HEADER, formatPosition(position));
}

/**
 * `If-Match: "<version>"` (a strong ETag as PATCH and POST answer it) or `*`; absent or `*` means
 * "whatever the version is".
 */
function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*"(\d{1,9})"\s*$/.exec(header);
  if (!match) {
    throw new HttpProblem(
      400,
      problemTypes.validation,
      'Request validation failed',
      '1 field of the header is invalid',
      [{ field: 'header.If-Match', message: 'must be a product version as its ETag, e.g. "3", or *' }],
    );
  }
  return Number(match[1]);
}

async function refusedAsProblem<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw error instanceof ProductWriteError ? problemFor(error) : error;
  }
}

function problemFor(error: ProductWriteError): HttpProblem {
  const problem = (status: number, type: string, title: string, field?: string, extensions = {}) =>
    new HttpProblem(
      status,
      type,
      title,
      error.message,
      field === undefined ? undefined : [{ field, code: error.code, message: error.message }],
      {},
      extensions,
    );
  if (error instanceof UnknownProduct) return notFound(error.message);
  if (error instanceof UnknownSeller) {
    return problem(422, productProblemTypes.unprocessableProduct, 'Product cannot be accepted', 'body.sellerId');
  }
  if (error instanceof StockBelowReserved) {
    return problem(422, productProblemTypes.unprocessableProduct, 'Product cannot be changed', 'body.stock', {
      reserved: error.reserved,
    });
  }
  if (error instanceof UnknownCustomer) {
    return problem(422, productProblemTypes.unprocessableReview, 'Review cannot be accepted', 'body.customerId');
  }
  if (error instanceof DuplicateSku) {
    return problem(409, productProblemTypes.duplicateSku, 'Duplicate SKU', 'body.sku');
  }
  if (error instanceof AlreadyReviewed) {
    return problem(409, productProblemTypes.alreadyReviewed, 'Already reviewed', 'body.customerId');
  }
  if (error instanceof NotABuyer) return problem(403, productProblemTypes.notABuyer, 'Not a buyer', 'body.customerId');
  if (error instanceof VersionMismatch) {
    return problem(412, productProblemTypes.preconditionFailed, 'Precondition Failed', 'header.If-Match', {
      currentVersion: error.actual,
    });
  }
  throw new Error(`unmapped product write error ${error.code}`);
}
