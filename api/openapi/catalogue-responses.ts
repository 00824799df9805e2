import { z } from 'zod';
import { priceRangeLabels, ratingBuckets } from '../../read-models/product-search/buckets';
import { searchSorts } from '../../read-models/product-search/params';
import { timestamp, uuid } from './responses';

/**
 * Response bodies of the catalogue: products and reviews (catalogue/product-store.ts), the product
 * search (read-models/product-search/search.ts) and the seller dashboard (api/sellers/seller-dashboard-routes.ts).
 */

export const product = z
  .object({
    productId: uuid,
    sellerId: uuid,
    sku: z.string(),
    name: z.string(),
    description: z.string(),
    categoryPath: z.string(),
    priceMinor: z.int(),
    currency: z.string(),
    price: z.string().meta({ description: 'Formatted, e.g. `12.50 EUR`' }),
    stock: z.int(),
    active: z.boolean(),
    version: z.int().meta({ description: 'The product version: its ETag, and what If-Match names' }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Product' });

export const review = z
  .object({
    reviewId: uuid,
    productId: uuid,
    customerId: uuid,
    rating: z.int().min(1).max(5),
    body: z.string(),
    createdAt: timestamp,
    productVersion: z.int().meta({ description: "The product's version after the review" }),
  })
  .meta({ id: 'Review' });

const facetCount = z.object({ value: z.string(), count: z.int() });

export const searchResult = z
  .object({
    correctedQuery: z.string().nullable().meta({ description: 'What the words were searched as, when corrected' }),
    corrections: z.array(z.object({ from: z.string(), to: z.string() })),
    sort: z.enum(searchSorts),
    total: z.int().meta({ description: "Every match when totalRelation is 'eq'; a lower bound when it is 'gte'" }),
    totalRelation: z.enum(['eq', 'gte']).meta({
      description:
        "'gte' when the search matched more than it counts (several words or filters over a large catalogue): total is then the number counted",
    }),
    hits: z.array(
      z.object({
        productId: uuid,
        sellerId: uuid,
        sellerName: z.string(),
        sku: z.string(),
        name: z.string(),
        category: z.string(),
        categoryPath: z.string(),
        price: z.object({ minor: z.int(), currency: z.string(), formatted: z.string() }),
        priceRange: z.enum(priceRangeLabels),
        averageRating: z.number().nullable(),
        reviewCount: z.int(),
        ratingBucket: z.enum(ratingBuckets),
        salesCount: z.int(),
        inStock: z.boolean(),
        highlight: z
          .object({ name: z.string(), description: z.string() })
          .nullable()
          .meta({ description: 'HTML: escaped text with the matched words in <mark></mark>; null without words' }),
      }),
    ),
    facets: z.object({
      category: z.array(facetCount),
      priceRange: z.array(facetCount),
      rating: z.array(facetCount),
      seller: z.array(facetCount.extend({ name: z.string() })),
      inStock: z.array(facetCount),
    }),
    facetsExhaustive: z.boolean().meta({
      description: 'False when the facets were counted over the first `total` matches only (totalRelation `gte`)',
    }),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'SearchResult' });

const minorString = z.string().meta({ description: 'Minor units as a decimal string (int64-safe)' });

export const sellerDashboard = z
  .object({
    sellerId: uuid,
    sellerName: z.string(),
    orders: z.object({ total: z.int(), pending: z.int(), paid: z.int() }),
    revenue: z.object({
      totalMinor: minorString,
      monthlyMinor: minorString,
      month: z.string().meta({ example: '2026-11' }),
      averageOrderValueMinor: minorString.nullable(),
    }),
    products: z.object({ total: z.int(), active: z.int() }),
    reviews: z.object({ count: z.int(), averageRating: z.string().nullable() }),
    updatedAt: timestamp,
    lastCalculatedAt: timestamp.nullable(),
  })
  .meta({ id: 'SellerDashboard' });
