import { randomBytes, randomUUID } from 'node:crypto';
import { Client, NamespaceNotFoundError } from '@temporalio/client';
import { createApiKeyAuthenticator } from '../../access/api-keys';
import type { ShardRouter } from '../../platform/shards/router';
import type { AppDeps } from '../deps';
import { createIdempotencyStore, requestHash } from './idempotency';
import { customerDatabase } from './order-shard';
import { placeOrder, type OrderRequest } from './place-order';

/**
 * A rehearsal of `POST /v1/orders`, which the API runs before it listens: the code a submission
 * runs, and the statements it prepares, run once here rather than in the first clients' requests.
 * Measured with bench/platform.ts at 8 clients, the first eight submissions, which arrive together,
 * took 106–135 ms on an idle machine with connections open and the pricing statement prepared
 * (later ones 10–40): each ran, for the first time in the process, the API key's lookup, the
 * idempotency claim, pricing, the Web UI summary's money formatting (15 ms for Intl's currency
 * data) and the start request's encoding (protobufjs generates each message's encoder on first
 * use), encryption and gRPC call.
 *
 * It has no effect. The key it looks up is made up; the idempotency key it claims is abandoned,
 * as a refused request's is; the start request goes to a namespace that does not exist, which the
 * server refuses before recording anything. The order is one of an existing customer, so that
 * pricing accepts it and the start is reached; with no customer or product yet (a fresh database)
 * the rehearsal stops after the key's lookup.
 */

export type RehearsalDeps = Pick<AppDeps, 'config' | 'db' | 'temporal' | 'shards'> & { shards: ShardRouter };

export async function rehearseOrderSubmission(deps: RehearsalDeps): Promise<void> {
  await createApiKeyAuthenticator(deps.db, { cacheTtlMs: 0 }).authenticate(madeUpApiKey());
  const request = await rehearsalOrder(deps);
  if (!request) return;

  const idempotency = createIdempotencyStore(await customerDatabase(deps, request.customerId), deps.config.idempotency);
  const scope = 'rehearsal';
  const key = randomUUID();
  await idempotency.begin(scope, key, requestHash(request));
  await idempotency.abandon(scope, key);

  // The process's own connection and data converter, under a namespace no server has.
  const client = new Client({
    connection: deps.temporal.connection,
    namespace: `shopflow-rehearsal-${randomUUID()}`,
    dataConverter: deps.temporal.client.options.dataConverter,
  });
  try {
    await placeOrder(
      { ...deps, temporal: { ...deps.temporal, client }, positionWatcher: undefined },
      { orderId: randomUUID(), request, requestId: 'rehearsal', firstAttempt: false },
    );
  } catch (error) {
    if (!(error instanceof NamespaceNotFoundError)) throw error;
    return;
  }
  throw new Error('the rehearsal started a workflow: its namespace exists');
}

/** An order of one existing product for one existing customer, if there are any. */
async function rehearsalOrder(deps: RehearsalDeps): Promise<OrderRequest | undefined> {
  const product = await deps.db.product.findFirst({ where: { active: true }, select: { id: true } });
  if (!product) return undefined;
  for (const shard of await deps.shards.databases()) {
    const customer = await shard.customer.findFirst({ select: { id: true } });
    if (customer) {
      return {
        customerId: customer.id,
        items: [{ productId: product.id, quantity: 1 }],
        shippingAddress: {
          recipient: 'Rehearsal',
          line1: '1 Main St',
          city: 'Berlin',
          postalCode: '10115',
          country: 'DE',
        },
        payment: { token: 'tok_rehearsal' },
      };
    }
  }
  return undefined;
}

/** Well formed, so that it is looked up (preparing the statement), and matching no key. */
function madeUpApiKey(): string {
  return `sfk_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
}
