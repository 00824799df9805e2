import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import pino from 'pino';
import request from 'supertest';
import { orderWorkflowId } from '../../domain/ids';
import { createApiKeyAuthenticator } from '../../access/api-keys';
import { createCodecApp } from '../../platform/codec-server';
import { createDataConverter, createPayloadCodec } from '../../platform/data-converter';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import {
  eventually,
  requiredEnv,
  startApi,
  startWorker,
  testConfig,
  type RunningWorker,
  type TestPlatform,
} from '../support/platform';

/**
 * What Temporal stores of an order is ciphertext: the raw history, as `temporal workflow show`
 * prints it to anyone with access to the cluster, holds none of the customer's data or the
 * payment token; an operator with the codec server's token sees all of it decrypted, and the
 * history still replays with the keys.
 */
describe('history encryption', () => {
  let api: TestPlatform;
  let worker: RunningWorker;
  let codecServer: Server;
  let codecUrl: string;
  /** An operator's API key: the codec server's credential. */
  let codecToken: string;

  beforeAll(async () => {
    const config = testConfig();
    api = await startApi(config);
    worker = await startWorker(config);
    codecToken = await api.keyFor({ role: 'operator' });
    const apiKeys = createApiKeyAuthenticator(api.deps.db, { cacheTtlMs: 0 });
    const app = createCodecApp({
      codec: createPayloadCodec(config),
      authenticate: (key) => apiKeys.authenticate(key),
      corsOrigins: [],
      logger: pino({ level: 'silent' }),
    });
    codecServer = createServer(app).listen(0, '127.0.0.1');
    await once(codecServer, 'listening');
    codecUrl = `http://127.0.0.1:${(codecServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    codecServer.close();
    await worker.stop();
    await api.close();
  });

  /**
   * `temporal workflow show --output json`, optionally decoding through a codec server. Never
   * synchronously: the codec server it calls runs in this very process.
   */
  async function workflowShow(workflowId: string, codecArgs: string[] = []): Promise<unknown> {
    const { stdout } = await promisify(execFile)(
      requiredEnv('SHOPFLOW_TEST_TEMPORAL_CLI'),
      [
        'workflow',
        'show',
        '--workflow-id',
        workflowId,
        '--output',
        'json',
        '--address',
        requiredEnv('TEMPORAL_ADDRESS'),
        ...codecArgs,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    return JSON.parse(stdout) as unknown;
  }

  /**
   * Every string a reader of the history could see, payload bytes (base64 in the JSON) decoded
   * too. Search attributes are left out: the server must read them to index them, so they are
   * never encrypted and carry ids only (CustomerId), never personal data.
   */
  function readableText(history: unknown): string {
    const texts: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') {
        texts.push(value);
        if (/^[A-Za-z0-9+/]+={0,2}$/.test(value)) texts.push(Buffer.from(value, 'base64').toString('latin1'));
      } else if (Array.isArray(value)) {
        value.forEach(walk);
      } else if (value && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) if (key !== 'searchAttributes') walk(child);
      }
    };
    walk(history);
    return texts.join('\n');
  }

  it('finds clear-text customer data in a history written without encryption (the check can see it)', () => {
    const recorded = JSON.parse(
      readFileSync(path.resolve(__dirname, '../histories/order-delivered.json'), 'utf8'),
    ) as unknown;
    const text = readableText(recorded);
    expect(text).toContain('Ada Lovelace');
    expect(text).toContain('tok_visa');
  });

  it('keeps customer data and the payment token out of the raw history; the codec server shows them', async () => {
    const unique = randomUUID().slice(0, 8);
    const customer = await createCustomer(api.deps.db, { email: `grace-${unique}@example.test` });
    const { products } = await createSellerWithProducts(api.deps.db, [{ stock: 5 }]);
    const shippingAddress = {
      recipient: `Grace Hopper ${unique}`,
      line1: `${unique} Arlington Ridge Road`,
      city: 'Arlington',
      postalCode: 'VA 22202',
      country: 'US',
    };
    const paymentToken = `tok_secret_${unique}`;
    const accepted = await request(api.app)
      .post('/v1/orders')
      .set('Idempotency-Key', `encryption-${unique}`)
      .send(
        orderRequestBody(customer.id, [{ productId: products[0]!.id, quantity: 1 }], {
          shippingAddress,
          payment: { token: paymentToken },
        }),
      )
      .expect(202);
    const { orderId } = accepted.body as { orderId: string };
    // By SHIPPED the input, the payment step and the shipping step are all in the history.
    await eventually(async () => {
      const res = await request(api.app).get(`/v1/orders/${orderId}`);
      return res.body.status === 'SHIPPED' ? true : undefined;
    });
    const workflowId = orderWorkflowId(orderId);
    const secrets = [shippingAddress.recipient, shippingAddress.line1, paymentToken, customer.id];

    const raw = readableText(await workflowShow(workflowId));
    for (const secret of [...secrets, customer.email]) expect(raw).not.toContain(secret);
    expect(raw).toContain('binary/encrypted');

    const decoded = readableText(
      await workflowShow(workflowId, ['--codec-endpoint', codecUrl, '--codec-auth', `Bearer ${codecToken}`]),
    );
    for (const secret of secrets) expect(decoded).toContain(secret);
    // The workflow never carries the email at all: nothing to encrypt, nothing to leak.
    expect(decoded).not.toContain(customer.email);
  });

  it('replays an encrypted history with the keys, and not without them', async () => {
    const customer = await createCustomer(api.deps.db);
    const { products } = await createSellerWithProducts(api.deps.db, [{ stock: 5 }]);
    const accepted = await request(api.app)
      .post('/v1/orders')
      .set('Idempotency-Key', `encryption-replay-${randomUUID()}`)
      .send(orderRequestBody(customer.id, [{ productId: products[0]!.id, quantity: 1 }]))
      .expect(202);
    const { orderId } = accepted.body as { orderId: string };
    await eventually(async () => {
      const res = await request(api.app).get(`/v1/orders/${orderId}`);
      return res.body.status === 'SHIPPED' ? true : undefined;
    });
    const history = await api.deps.temporal.client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
    const workflowBundle = { codePath: requiredEnv('SHOPFLOW_TEST_WORKFLOW_BUNDLE') };

    await Worker.runReplayHistory({ workflowBundle, dataConverter: createDataConverter(api.config) }, history);
    await expect(Worker.runReplayHistory({ workflowBundle }, history)).rejects.toThrow();
  });
});
