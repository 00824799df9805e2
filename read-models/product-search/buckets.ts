import { minorUnitDigits } from '../../domain/money';

/**
 * The search's facet buckets, in one place: the projection labels each product with them and the
 * query validates `priceRange` against the same labels, so the two cannot drift apart.
 */

/** Price ranges in whole units of the product's currency; [min, max). */
export const priceRanges = [
  { label: 'under-10', min: 0, max: 10 },
  { label: '10-25', min: 10, max: 25 },
  { label: '25-50', min: 25, max: 50 },
  { label: '50-100', min: 50, max: 100 },
  { label: '100-250', min: 100, max: 250 },
  { label: '250-plus', min: 250, max: Number.POSITIVE_INFINITY },
] as const;

export type PriceRangeLabel = (typeof priceRanges)[number]['label'];
export const priceRangeLabels = priceRanges.map((r) => r.label) as [PriceRangeLabel, ...PriceRangeLabel[]];

export function priceRangeOf(priceMinor: number, currency: string): PriceRangeLabel {
  const units = priceMinor / 10 ** minorUnitDigits(currency);
  return (priceRanges.find((r) => units >= r.min && units < r.max) ?? priceRanges[0]).label;
}

/** Disjoint, so facet counts add up to the total: '4-5' is an average of 4 or more. */
export const ratingBuckets = ['4-5', '3-4', '2-3', '1-2', 'unrated'] as const;
export type RatingBucket = (typeof ratingBuckets)[number];

/** The average to two decimals, or null when nobody rated the product yet. */
export function averageRating(ratingSum: number, reviewCount: number): number | null {
  if (reviewCount === 0) return null;
  return Math.round((ratingSum / reviewCount) * 100) / 100;
}

/** The rated buckets from the highest, each with the lowest average it holds; '1-2' holds the rest. */
const ratedBucketFloors: readonly (readonly [RatingBucket, number])[] = [
  ['4-5', 4],
  ['3-4', 3],
  ['2-3', 2],
  ['1-2', Number.NEGATIVE_INFINITY],
];

export function ratingBucketOf(average: number | null): RatingBucket {
  if (average === null) return 'unrated';
  return ratedBucketFloors.find(([, floor]) => average >= floor)![0];
}

/**
 * The buckets an average of `minimum` or more can be in (each bucket reaches up to the floor of the
 * one above it): what a minRating filter implies, in values the search's match index holds.
 */
export function ratingBucketsReaching(minimum: number): RatingBucket[] {
  return ratedBucketFloors.filter((_, i) => i === 0 || ratedBucketFloors[i - 1]![1] > minimum).map(([label]) => label);
}
