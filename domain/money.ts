/**
 * Money as integer minor units (cents, yen, fils). Amounts stay JS numbers so they pass through
 * Temporal's JSON payloads and the database unchanged, but they must be safe integers: a float
 * amount is a bug, and an unsafe one would silently lose units on the next addition. Anything that
 * can leave the integers (percentages, splits) is computed with bigint and converted back.
 */

export interface Money {
  readonly amountMinor: number;
  /** ISO 4217 code: three upper-case letters. */
  readonly currency: string;
}

const CURRENCY = /^[A-Z]{3}$/;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const BPS_PER_UNIT = 10_000n;

function assertCurrency(currency: string): void {
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) {
    throw new RangeError(`currency must be an ISO 4217 code of three upper-case letters, got ${String(currency)}`);
  }
}

function assertSafeInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${String(value)}`);
}

/** Values come back from JSON payloads and database rows, so each operand is checked, not trusted. */
function checked(m: Money): Money {
  assertCurrency(m.currency);
  assertSafeInteger(m.amountMinor, 'amountMinor');
  return m;
}

function assertSameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new RangeError(`currency mismatch: ${a.currency} and ${b.currency}`);
}

function fromBigInt(amountMinor: bigint, currency: string): Money {
  if (amountMinor < MIN_SAFE || amountMinor > MAX_SAFE) {
    throw new RangeError(`amount ${amountMinor} ${currency} is outside the safe integer range`);
  }
  return money(Number(amountMinor), currency);
}

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

export function money(amountMinor: number, currency: string): Money {
  assertCurrency(currency);
  assertSafeInteger(amountMinor, 'amountMinor');
  // `+ 0` turns -0 into 0, so equal amounts are also equal to Object.is and in snapshots.
  return Object.freeze({ amountMinor: amountMinor + 0, currency });
}

export function zero(currency: string): Money {
  return money(0, currency);
}

export function add(a: Money, b: Money): Money {
  assertSameCurrency(checked(a), checked(b));
  return fromBigInt(BigInt(a.amountMinor) + BigInt(b.amountMinor), a.currency);
}

export function subtract(a: Money, b: Money): Money {
  assertSameCurrency(checked(a), checked(b));
  return fromBigInt(BigInt(a.amountMinor) - BigInt(b.amountMinor), a.currency);
}

export function multiply(m: Money, quantity: number): Money {
  checked(m);
  assertSafeInteger(quantity, 'quantity');
  return fromBigInt(BigInt(m.amountMinor) * BigInt(quantity), m.currency);
}

/** The total of `items`; the currency is explicit so an empty list still has one. */
export function sum(currency: string, items: readonly Money[]): Money {
  let total = zero(currency);
  for (const item of items) total = add(total, item);
  return total;
}

export function isNegative(m: Money): boolean {
  return checked(m).amountMinor < 0;
}

/** Comparing amounts of two currencies is a bug (as in add), so it throws rather than answering false. */
export function equals(a: Money, b: Money): boolean {
  return compare(a, b) === 0;
}

export function compare(a: Money, b: Money): -1 | 0 | 1 {
  assertSameCurrency(checked(a), checked(b));
  return a.amountMinor < b.amountMinor ? -1 : a.amountMinor > b.amountMinor ? 1 : 0;
}

/**
 * `basisPoints` / 10 000 of `m`, rounded half-up to the minor unit. Half-up is taken away from
 * zero, so the share of a refund (negative) mirrors the share of the charge it undoes.
 */
export function percentageOf(m: Money, basisPoints: number): Money {
  checked(m);
  assertSafeInteger(basisPoints, 'basisPoints');
  if (basisPoints < 0 || basisPoints > 10_000) {
    throw new RangeError(`basisPoints must be between 0 and 10000, got ${basisPoints}`);
  }
  const amount = BigInt(m.amountMinor);
  const scaled = abs(amount) * BigInt(basisPoints);
  // floor(scaled / 10000 + 1/2) in integers.
  const rounded = (scaled * 2n + BPS_PER_UNIT) / (BPS_PER_UNIT * 2n);
  return fromBigInt(amount < 0n ? -rounded : rounded, m.currency);
}

/**
 * Splits `m` in proportion to `weights` without losing or creating a minor unit: each part gets
 * its floor, and the units left over go one each to the largest remainders (earlier index first
 * on a tie, so the split is deterministic). The parts always sum back to `m`.
 */
export function allocate(m: Money, weights: readonly number[]): Money[] {
  checked(m);
  if (weights.length === 0) throw new RangeError('allocate needs at least one weight');
  for (const weight of weights) {
    assertSafeInteger(weight, 'weight');
    if (weight < 0) throw new RangeError(`weights must not be negative, got ${weight}`);
  }
  const big = weights.map((weight) => BigInt(weight));
  const totalWeight = big.reduce((acc, weight) => acc + weight, 0n);
  if (totalWeight === 0n) throw new RangeError('allocate needs at least one positive weight');

  const amount = BigInt(m.amountMinor);
  const magnitude = abs(amount);
  const parts = big.map((weight) => (magnitude * weight) / totalWeight);
  const remainders = big.map((weight) => (magnitude * weight) % totalWeight);
  let leftOver = magnitude - parts.reduce((acc, part) => acc + part, 0n);

  const byRemainder = remainders
    .map((remainder, index) => ({ remainder, index }))
    .sort((x, y) => (x.remainder > y.remainder ? -1 : x.remainder < y.remainder ? 1 : x.index - y.index));
  for (const { index } of byRemainder) {
    if (leftOver === 0n) break;
    parts[index] = (parts[index] ?? 0n) + 1n;
    leftOver -= 1n;
  }
  return parts.map((part) => fromBigInt(amount < 0n ? -part : part, m.currency));
}

const fractionDigits = new Map<string, number>();

/** Fraction digits of the currency's minor unit (EUR 2, JPY 0, BHD 3), from the ICU data built into the runtime. */
export function minorUnitDigits(currency: string): number {
  assertCurrency(currency);
  let digits = fractionDigits.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    if (digits === undefined) throw new RangeError(`no minor unit known for ${currency}`);
    fractionDigits.set(currency, digits);
  }
  return digits;
}

/** `42.00 EUR`, `1500 JPY`, `-3.05 EUR`: the decimal point is placed by string math, never by float division. */
export function formatMoney(m: Money): string {
  checked(m);
  const digits = minorUnitDigits(m.currency);
  const amount = BigInt(m.amountMinor);
  const sign = amount < 0n ? '-' : '';
  const units = abs(amount).toString();
  if (digits === 0) return `${sign}${units} ${m.currency}`;
  const padded = units.padStart(digits + 1, '0');
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)} ${m.currency}`;
}
