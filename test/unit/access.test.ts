import type { Request } from 'express';
import { z } from 'zod';
import { actsForCustomer, actsForSeller, parseBodyActingFor } from '../../api/access/access';
import { mayReadOrder } from '../../api/orders/order-access';
import type { Principal } from '../../api/access/principal';
import { HttpProblem } from '../../api/http/problem';
import { principalSubject } from '../../domain/principal';

const customerA: Principal = { role: 'customer', keyId: 'k1', customerId: 'cust-a' };
const sellerS: Principal = { role: 'seller', keyId: 'k2', sellerId: 'sell-s' };
const operator: Principal = { role: 'operator', keyId: 'k3' };

const body = z.object({ customerId: z.string().optional(), rating: z.number() }).strict();
const requestAs = (principal: Principal, json: unknown) => ({ principal, body: json }) as unknown as Request;

function problemOf(run: () => unknown): HttpProblem {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpProblem) return error;
    throw error;
  }
  throw new Error('expected an HttpProblem');
}

describe('who acts for whom', () => {
  it('lets customers act for themselves only, sellers likewise, operators for everyone', () => {
    expect(actsForCustomer(customerA, 'cust-a')).toBe(true);
    expect(actsForCustomer(customerA, 'cust-b')).toBe(false);
    expect(actsForCustomer(sellerS, 'cust-a')).toBe(false);
    expect(actsForSeller(sellerS, 'sell-s')).toBe(true);
    expect(actsForSeller(sellerS, 'sell-t')).toBe(false);
    expect(actsForSeller(customerA, 'sell-s')).toBe(false);
    expect(actsForCustomer(operator, 'anyone')).toBe(true);
    expect(actsForSeller(operator, 'anyone')).toBe(true);
  });

  it('shows an order to its customer, to sellers with a line in it, and to operators', () => {
    const order = { customerId: 'cust-a', lines: [{ sellerId: 'sell-s' }, { sellerId: 'sell-u' }] };
    expect(mayReadOrder(customerA, order)).toBe(true);
    expect(mayReadOrder({ ...customerA, customerId: 'cust-b' }, order)).toBe(false);
    expect(mayReadOrder(sellerS, order)).toBe(true);
    expect(mayReadOrder({ ...sellerS, sellerId: 'sell-t' }, order)).toBe(false);
    expect(mayReadOrder(operator, order)).toBe(true);
  });

  it('keys rate limits and idempotency by customer or seller (all their keys share), operators by key', () => {
    expect(principalSubject(customerA)).toBe('customer:cust-a');
    expect(principalSubject({ ...customerA, keyId: 'other-key' })).toBe('customer:cust-a');
    expect(principalSubject(sellerS)).toBe('seller:sell-s');
    expect(principalSubject(operator)).toBe('key:k3');
  });
});

describe('parseBodyActingFor', () => {
  it('fills in a customer key’s own customer when the body leaves it out, and accepts it named', () => {
    expect(parseBodyActingFor(requestAs(customerA, { rating: 5 }), body, 'customerId').actingFor).toBe('cust-a');
    expect(parseBodyActingFor(requestAs(customerA, { customerId: 'cust-a', rating: 5 }), body, 'customerId')).toEqual({
      body: { customerId: 'cust-a', rating: 5 },
      actingFor: 'cust-a',
    });
  });

  it('refuses a customer key naming another customer with 403 naming the field', () => {
    const problem = problemOf(() =>
      parseBodyActingFor(requestAs(customerA, { customerId: 'cust-b', rating: 5 }), body, 'customerId'),
    );
    expect(problem.status).toBe(403);
    expect(problem.errors).toEqual([
      { field: 'body.customerId', message: 'must be your own customer id, or left out' },
    ]);
  });

  it('makes an operator name the customer, reported together with the body’s other problems', () => {
    expect(parseBodyActingFor(requestAs(operator, { customerId: 'x', rating: 1 }), body, 'customerId').actingFor).toBe(
      'x',
    );
    const problem = problemOf(() => parseBodyActingFor(requestAs(operator, { rating: 'five' }), body, 'customerId'));
    expect(problem.status).toBe(400);
    expect(problem.errors?.map((e) => e.field)).toEqual(['body.customerId', 'body.rating']);
  });
});
