import {
  add,
  allocate,
  compare,
  equals,
  formatMoney,
  isNegative,
  minorUnitDigits,
  money,
  multiply,
  percentageOf,
  subtract,
  sum,
  zero,
  type Money,
} from '../../domain/money';

const eur = (amountMinor: number): Money => money(amountMinor, 'EUR');
const amounts = (parts: Money[]): number[] => parts.map((part) => part.amountMinor);

/** A 32-bit linear congruential generator: the same "random" cases on every run, no library. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
}

describe('money', () => {
  describe('construction', () => {
    it('holds integer minor units and an ISO 4217 code', () => {
      expect(money(4200, 'EUR')).toEqual({ amountMinor: 4200, currency: 'EUR' });
      expect(zero('JPY')).toEqual({ amountMinor: 0, currency: 'JPY' });
      expect(money(-305, 'EUR').amountMinor).toBe(-305);
    });

    it('survives a JSON round trip, as through a Temporal payload', () => {
      const price = eur(Number.MAX_SAFE_INTEGER);
      expect(JSON.parse(JSON.stringify(price))).toEqual(price);
    });

    it('rejects amounts that are not safe integers', () => {
      for (const bad of [1.5, 0.1, Number.MAX_SAFE_INTEGER + 1, Number.MIN_SAFE_INTEGER - 1, NaN, Infinity]) {
        expect(() => eur(bad)).toThrow(RangeError);
      }
    });

    it('rejects currencies that are not three upper-case letters', () => {
      for (const bad of ['eur', 'EURO', 'EU', '', '€']) expect(() => money(1, bad)).toThrow(RangeError);
    });

    it('normalises -0 to 0', () => {
      expect(Object.is(eur(-0).amountMinor, 0)).toBe(true);
    });
  });

  describe('arithmetic', () => {
    it('adds, subtracts and multiplies by a quantity', () => {
      expect(add(eur(1250), eur(899))).toEqual(eur(2149));
      expect(subtract(eur(500), eur(805))).toEqual(eur(-305));
      expect(multiply(eur(1250), 3)).toEqual(eur(3750));
      expect(sum('EUR', [eur(1), eur(2), eur(3)])).toEqual(eur(6));
    });

    it('sums an empty list to zero in the given currency', () => {
      expect(sum('JPY', [])).toEqual(zero('JPY'));
    });

    it('refuses to mix currencies', () => {
      const yen = money(100, 'JPY');
      expect(() => add(eur(100), yen)).toThrow(RangeError);
      expect(() => subtract(eur(100), yen)).toThrow(/currency mismatch: EUR and JPY/);
      expect(() => compare(eur(100), yen)).toThrow(RangeError);
      expect(() => equals(eur(100), yen)).toThrow(RangeError);
      expect(() => sum('EUR', [eur(1), yen])).toThrow(RangeError);
    });

    it('throws instead of leaving the safe integer range', () => {
      expect(() => add(eur(Number.MAX_SAFE_INTEGER), eur(1))).toThrow(RangeError);
      expect(() => subtract(eur(Number.MIN_SAFE_INTEGER), eur(1))).toThrow(RangeError);
      expect(() => multiply(eur(Number.MAX_SAFE_INTEGER), 2)).toThrow(RangeError);
    });

    it('rejects a fractional quantity', () => {
      expect(() => multiply(eur(100), 1.5)).toThrow(RangeError);
    });

    it('checks operands that arrive as plain objects from JSON', () => {
      const forged = { amountMinor: 0.1, currency: 'EUR' };
      expect(() => add(forged, eur(1))).toThrow(RangeError);
    });

    it('compares amounts of one currency', () => {
      expect(compare(eur(1), eur(2))).toBe(-1);
      expect(compare(eur(2), eur(2))).toBe(0);
      expect(compare(eur(3), eur(2))).toBe(1);
      expect(equals(eur(2), eur(2))).toBe(true);
      expect(isNegative(eur(-1))).toBe(true);
      expect(isNegative(zero('EUR'))).toBe(false);
    });
  });

  describe('percentageOf', () => {
    it('rounds half-up at the .5 boundary, not to even', () => {
      // 10 % of 0.05, 0.15 and 0.25 EUR is 0.5, 1.5 and 2.5 cents.
      expect(percentageOf(eur(5), 1000)).toEqual(eur(1));
      expect(percentageOf(eur(15), 1000)).toEqual(eur(2));
      expect(percentageOf(eur(25), 1000)).toEqual(eur(3));
      expect(percentageOf(eur(14), 1000)).toEqual(eur(1));
      expect(percentageOf(eur(1), 5000)).toEqual(eur(1));
      expect(percentageOf(eur(1), 4999)).toEqual(eur(0));
    });

    it('rounds a negative amount away from zero, mirroring the positive one', () => {
      expect(percentageOf(eur(-5), 1000)).toEqual(eur(-1));
      expect(percentageOf(eur(-14), 1000)).toEqual(eur(-1));
    });

    it('is exact where float math is not', () => {
      // Half of the largest safe integer is x.5, which a double cannot even represent.
      expect(percentageOf(eur(Number.MAX_SAFE_INTEGER), 5000)).toEqual(eur(4503599627370496));
      expect(percentageOf(eur(Number.MAX_SAFE_INTEGER), 10_000)).toEqual(eur(Number.MAX_SAFE_INTEGER));
    });

    it('accepts whole basis points from 0 to 10000 only', () => {
      expect(percentageOf(eur(999), 0)).toEqual(eur(0));
      for (const bad of [-1, 10_001, 12.5, NaN]) expect(() => percentageOf(eur(100), bad)).toThrow(RangeError);
    });
  });

  describe('allocate', () => {
    it('gives the left-over units to the largest remainders', () => {
      // 10 by 1:2:4 is 1.43, 2.86, 5.71: floors 1, 2, 5 and the two spare cents go to .86 and .71.
      expect(amounts(allocate(eur(10), [1, 2, 4]))).toEqual([1, 3, 6]);
    });

    it('breaks ties by position, so the split is deterministic', () => {
      expect(amounts(allocate(eur(100), [1, 1, 1]))).toEqual([34, 33, 33]);
      expect(amounts(allocate(eur(5), [1, 1]))).toEqual([3, 2]);
    });

    it('splits negative amounts symmetrically and skips zero weights', () => {
      expect(amounts(allocate(eur(-100), [1, 1, 1]))).toEqual([-34, -33, -33]);
      expect(amounts(allocate(eur(10), [0, 1, 0]))).toEqual([0, 10, 0]);
    });

    it('rejects weights that cannot split anything', () => {
      expect(() => allocate(eur(10), [])).toThrow(RangeError);
      expect(() => allocate(eur(10), [0, 0])).toThrow(RangeError);
      expect(() => allocate(eur(10), [-1, 2])).toThrow(RangeError);
      expect(() => allocate(eur(10), [0.5, 0.5])).toThrow(RangeError);
    });
  });

  describe('properties over generated cases', () => {
    const next = lcg(20240601);
    const randomAmount = (): number => {
      // Up to 2^53 - 1 in magnitude: 21 high bits and 32 low bits.
      const magnitude = (next() % 2 ** 21) * 2 ** 32 + next();
      return next() % 2 === 0 ? magnitude : -magnitude;
    };

    it('allocate always sums back to the amount', () => {
      for (let i = 0; i < 2000; i += 1) {
        const amount = eur(randomAmount());
        const weights = Array.from({ length: 1 + (next() % 8) }, () => next() % 1000);
        if (!weights.some((weight) => weight > 0)) weights.push(1);
        const parts = allocate(amount, weights);
        expect(parts).toHaveLength(weights.length);
        expect(sum('EUR', parts)).toEqual(amount);
      }
    });

    it('percentageOf stays within [0, amount] and within half a minor unit of the exact value', () => {
      for (let i = 0; i < 2000; i += 1) {
        const amount = eur(randomAmount());
        const bps = next() % 10_001;
        const share = percentageOf(amount, bps).amountMinor;
        const low = Math.min(0, amount.amountMinor);
        const high = Math.max(0, amount.amountMinor);
        expect(share).toBeGreaterThanOrEqual(low);
        expect(share).toBeLessThanOrEqual(high);
        const error = BigInt(share) * 10_000n - BigInt(amount.amountMinor) * BigInt(bps);
        expect(error <= 5000n && error >= -5000n).toBe(true);
      }
    });
  });

  describe('formatting', () => {
    it('knows the minor unit of each currency', () => {
      expect(minorUnitDigits('EUR')).toBe(2);
      expect(minorUnitDigits('JPY')).toBe(0);
      expect(minorUnitDigits('BHD')).toBe(3);
      expect(() => minorUnitDigits('eur')).toThrow(RangeError);
    });

    it('places the decimal point by the currency', () => {
      expect(formatMoney(eur(4200))).toBe('42.00 EUR');
      expect(formatMoney(money(1500, 'JPY'))).toBe('1500 JPY');
      expect(formatMoney(money(1234, 'BHD'))).toBe('1.234 BHD');
      expect(formatMoney(money(0, 'BHD'))).toBe('0.000 BHD');
    });

    it('pads small and negative amounts', () => {
      expect(formatMoney(eur(-305))).toBe('-3.05 EUR');
      expect(formatMoney(eur(5))).toBe('0.05 EUR');
      expect(formatMoney(eur(-5))).toBe('-0.05 EUR');
      expect(formatMoney(money(-7, 'JPY'))).toBe('-7 JPY');
    });

    it('is exact for the largest amounts', () => {
      expect(formatMoney(eur(Number.MAX_SAFE_INTEGER))).toBe('90071992547409.91 EUR');
    });
  });
});
