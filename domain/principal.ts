/**
 * Who is calling: the API key's owner, established by api/access/authentication.ts from
 * `Authorization: Bearer <key>` and read by rate limiting and by each route's access rule.
 */

export const roles = ['customer', 'seller', 'operator'] as const;
export type Role = (typeof roles)[number];

export type Principal =
  | { role: 'customer'; keyId: string; customerId: string }
  | { role: 'seller'; keyId: string; sellerId: string }
  | { role: 'operator'; keyId: string };

/**
 * Whose request it is, for what is kept per caller (rate-limit buckets, idempotency keys): a
 * customer's or seller's keys share one subject (minting more keys buys no more requests); an
 * operator key is its own.
 */
export function principalSubject(principal: Principal): string {
  switch (principal.role) {
    case 'customer':
      return `customer:${principal.customerId}`;
    case 'seller':
      return `seller:${principal.sellerId}`;
    case 'operator':
      return `key:${principal.keyId}`;
  }
}
