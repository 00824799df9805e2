import { ratingBucketOf, ratingBucketsReaching } from '../../read-models/product-search/buckets';

/**
 * A minRating filter also names the rating buckets it can fall in, for the search's match index:
 * those buckets must hold every average the filter keeps, and no more than they need.
 */
describe('the rating buckets a minimum rating reaches', () => {
  it('are the buckets an average of the minimum or more can be in', () => {
    expect(ratingBucketsReaching(4)).toEqual(['4-5']);
    expect(ratingBucketsReaching(3.5)).toEqual(['4-5', '3-4']);
    expect(ratingBucketsReaching(3)).toEqual(['4-5', '3-4']);
    expect(ratingBucketsReaching(1)).toEqual(['4-5', '3-4', '2-3', '1-2']);
    expect(ratingBucketsReaching(5)).toEqual(['4-5']);
  });

  it('hold every average the filter keeps, for every minimum and average to two decimals', () => {
    for (let minimum = 100; minimum <= 500; minimum += 1) {
      const reached = ratingBucketsReaching(minimum / 100);
      for (let average = minimum; average <= 500; average += 1) {
        expect(reached).toContain(ratingBucketOf(average / 100));
      }
    }
  });
});
