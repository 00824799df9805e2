import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { searchQuerySchema } from '../../read-models/product-search/params';
import { createProductBody, productPath, reviewBody, updateProductBody } from '../catalogue/product-routes';
import { dashboardPath } from '../sellers/seller-dashboard-routes';
import {
  bodyProblems,
  cachedReadHeaders,
  json,
  notModified,
  positionHeader,
  problems,
  readHeaders,
  v1Operation,
} from './operations';
import { product, review, searchResult, sellerDashboard } from './catalogue-responses';

const jsonBody = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });
const etag = { ETag: z.string().meta({ description: 'The product version as a strong ETag, e.g. "3"' }) };

/** Products, reviews, the product search and the seller dashboard. */
export function cataloguePaths(): ZodOpenApiPathsObject {
  return {
    '/v1/products/search': {
      get: v1Operation('catalogue', 'Search products', {
        description: 'Hits, facets and the next page cursor, from the product search read model.',
        // The schema's object before its transform: the parameters as clients send them.
        requestParams: { query: searchQuerySchema.in, header: readHeaders },
        responses: {
          '200': json('One page of hits with facets', searchResult, 'v1', cachedReadHeaders),
          '304': notModified,
          ...problems([400]),
        },
      }),
    },
    '/v1/products': {
      post: v1Operation('catalogue', 'Create a product', {
        description: "A seller's key creates its own products (sellerId may be omitted); an operator names the seller.",
        requestBody: jsonBody(createProductBody),
        responses: {
          '201': json('Created', product, 'v1', {
            Location: z.string().meta({ example: '/v1/products/3f0c…' }),
            ...etag,
            ...positionHeader,
          }),
          ...problems([...bodyProblems, 403, 409, 422], 'v1', {
            409: 'The seller already has a product with this SKU',
            422: 'Unknown seller',
          }),
        },
      }),
    },
    '/v1/products/{productId}': {
      patch: v1Operation('catalogue', 'Change a product', {
        description: 'sku and currency are fixed. Send the ETag in If-Match to change only the version you read.',
        requestParams: {
          path: productPath,
          header: z.object({
            'If-Match': z
              .string()
              .optional()
              .meta({ description: 'A version as its ETag ("3"), or *', example: '"3"' }),
          }),
        },
        requestBody: jsonBody(updateProductBody),
        responses: {
          '200': json('Changed', product, 'v1', {
            ...etag,
            'Shopflow-Position': positionHeader['Shopflow-Position'].optional(),
          }),
          ...problems([...bodyProblems, 403, 404, 412, 422], 'v1', {
            412: 'If-Match names a version that is no longer current (`currentVersion`)',
            422: 'Stock below what open orders reserved (`reserved`)',
          }),
        },
      }),
    },
    '/v1/products/{productId}/reviews': {
      post: v1Operation('catalogue', 'Review a product', {
        description: "A customer's key reviews as its own customer (customerId may be omitted).",
        requestParams: { path: productPath },
        requestBody: jsonBody(reviewBody),
        responses: {
          '201': json('Created', review, 'v1', positionHeader),
          ...problems([...bodyProblems, 403, 404, 409, 422], 'v1', {
            403: 'The key may not review, or the customer never bought the product (`not-a-buyer`)',
            409: 'The customer already reviewed the product',
            422: 'Unknown customer',
          }),
        },
      }),
    },
    '/v1/sellers/{sellerId}/dashboard': {
      get: v1Operation('catalogue', "A seller's dashboard", {
        requestParams: { path: dashboardPath, header: readHeaders },
        responses: {
          '200': json('Orders, revenue, products and reviews', sellerDashboard, 'v1', cachedReadHeaders),
          '304': notModified,
          ...problems([400, 403, 404]),
        },
      }),
    },
  };
}
