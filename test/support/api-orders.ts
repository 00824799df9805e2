import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createCustomer, createSellerWithProducts, orderRequestBody } from './catalogue';
import type { TestPlatform } from './platform';

/**
 * An order placed through `POST /v1/orders`, as clients place them: its workflow starts with
 * what the API gives it (the memo with the request id, the Web UI's summary and details, search
 * attributes), every payload encrypted. `overrides` replace fields of the request body (e.g.
 * `{ payment: { token: 'tok_declined' } }` for an order that fails at once). Returns its workflow id.
 */
export async function placeOrderThroughApi(
  api: TestPlatform,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const customer = await createCustomer(api.deps.db);
  const { products } = await createSellerWithProducts(api.deps.db, [{ stock: 3 }]);
  const accepted = await request(api.app)
    .post('/v1/orders')
    .set('Idempotency-Key', `test-${randomUUID()}`)
    .send(orderRequestBody(customer.id, [{ productId: products[0]!.id, quantity: 1 }], overrides))
    .expect(202);
  return (accepted.body as { workflowId: string }).workflowId;
}
