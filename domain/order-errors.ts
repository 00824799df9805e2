/**
 * Stable names of the business failures of an order. Activities throw them as the `type` of a
 * non-retryable ApplicationFailure, workflows branch on them, and the API maps them to problem
 * types: renaming one breaks recorded histories and clients, so they only ever get added.
 */

export const OrderFailureType = {
  OutOfStock: 'OutOfStock',
  PaymentDeclined: 'PaymentDeclined',
  Undeliverable: 'Undeliverable',
  InvalidOrder: 'InvalidOrder',
} as const;

export type OrderFailureType = (typeof OrderFailureType)[keyof typeof OrderFailureType];

const businessFailureTypes: ReadonlySet<string> = new Set(Object.values(OrderFailureType));

/** True for a business outcome to report; false for anything else (a bug or an outage to retry or alert on). */
export function isBusinessFailureType(type: string | undefined): type is OrderFailureType {
  return type !== undefined && businessFailureTypes.has(type);
}
