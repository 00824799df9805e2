import type { Request, RequestHandler } from 'express';
import type { z } from 'zod';
import type { Principal, Role } from './principal';
import { HttpProblem, notFound, problemTypes } from '../http/problem';
import { parseOrProblem } from '../http/validation';

/**
 * Who may do what (the role × route table in docs/http-api.md). Two kinds of refusal:
 * - 403 when the caller's role may never use a route (it reveals nothing about any resource);
 * - 404 when the resource is not the caller's, exactly as if it did not exist, so ids cannot be probed.
 */

/** The caller; the /v1 gate (requireKey) has already refused requests without one. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new Error('principalOf called on a route outside the key gate');
  return req.principal;
}

/** Route guard: only these roles may use the route at all. */
export function allowRoles(...allowed: Role[]): RequestHandler {
  return (req, _res, next) => {
    const { role } = principalOf(req);
    if (allowed.includes(role)) {
      next();
      return;
    }
    next(
      new HttpProblem(
        403,
        problemTypes.forbidden,
        'Forbidden',
        `${role} keys may not use ${req.method} ${routePath(req)}; allowed: ${allowed.join(', ')}`,
      ),
    );
  };
}

/** The route's pattern (`/v1/orders/:orderId`), so a refusal names no id. */
function routePath(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? route.path : req.path;
}

/** Whether the caller may see this customer's things: the customer themself, or an operator. */
export function actsForCustomer(principal: Principal, customerId: string): boolean {
  return principal.role === 'operator' || (principal.role === 'customer' && sameId(principal.customerId, customerId));
}

/** Whether the caller may see this seller's things: the seller themself, or an operator. */
export function actsForSeller(principal: Principal, sellerId: string): boolean {
  return principal.role === 'operator' || (principal.role === 'seller' && sameId(principal.sellerId, sellerId));
}

/** UUIDs are case-insensitive: `ABC…` names the same customer as `abc…`. */
export const sameId = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Throws the same 404 a missing resource gets unless `allowed`. */
export function ensureVisible(allowed: boolean, what: string): void {
  if (!allowed) throw notFound(`${what} does not exist`);
}

/**
 * Parses a write's body and resolves whom it acts for. A customer (seller) key acts for its own
 * customer (seller): the body may leave `field` out, or must name the same one (else 403). An
 * operator must name one; leaving it out is reported with the body's other problems.
 */
export function parseBodyActingFor<S extends z.ZodType>(
  req: Request,
  schema: S,
  field: 'customerId' | 'sellerId',
): { body: z.output<S>; actingFor: string } {
  const principal = principalOf(req);
  const own = ownParty(principal, field);
  const named = (req.body as Record<string, unknown> | undefined)?.[field];
  if (own !== undefined && typeof named === 'string' && !sameId(named, own)) {
    const party = field === 'customerId' ? 'customer' : 'seller';
    throw new HttpProblem(403, problemTypes.forbidden, 'Forbidden', `a ${party} key acts only for its own ${party}`, [
      { field: `body.${field}`, message: `must be your own ${party} id, or left out` },
    ]);
  }
  const missing = own === undefined && named === undefined;
  const body = parseOrProblem(
    schema,
    req.body,
    'body',
    missing ? [{ field: `body.${field}`, message: `is required for ${principal.role} keys` }] : [],
  );
  return { body, actingFor: own ?? String(named) };
}

function ownParty(principal: Principal, field: 'customerId' | 'sellerId'): string | undefined {
  if (field === 'customerId' && principal.role === 'customer') return principal.customerId;
  if (field === 'sellerId' && principal.role === 'seller') return principal.sellerId;
  return undefined;
}
