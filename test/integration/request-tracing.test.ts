import { randomUUID } from 'node:crypto';
import { createApiKey } from '../../access/api-keys';
import { createDatabase, type Database } from '../../platform/database';
import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import { orderWorkflowId } from '../../domain/ids';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import { freePort, startEntry, type LongRunning } from '../support/processes';
import { eventually, testConfig } from '../support/platform';

/**
 * An operator follows a request from the API's log to the saga: every log line written while the
 * request was served names its request id, and the order's workflow keeps it in its memo. Secrets
 * (API keys, payment tokens) never reach a log line. The API runs as a real process, as deployed.
 */
describe('request tracing and secrets in logs', () => {
  const config = testConfig();
  let db: Database;
  let temporal: TemporalClient;
  let api: LongRunning;
  let baseUrl: string;
  let customerKey: string;
  let body: ReturnType<typeof orderRequestBody>;
  const paymentToken = `tok_secret_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  const unknownKey = `sfk_0123456789abcdef_${'S'.repeat(43)}`;

  beforeAll(async () => {
    db = createDatabase(config);
    temporal = createTemporalClient(config);
    const customerId = (await createCustomer(db)).id;
    const { products } = await createSellerWithProducts(db);
    customerKey = (await createApiKey(db, { role: 'customer', customerId, name: 'tracing' })).key;
    body = {
      ...orderRequestBody(customerId, [{ productId: products[0]!.id, quantity: 1 }]),
      payment: { token: paymentToken },
    };
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    api = startEntry('api/server.ts', {
      HOST: '127.0.0.1',
      PORT: String(port),
      API_METRICS_PORT: String(await freePort()),
      LOG_LEVEL: 'debug',
      TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
    });
    await api.waitForOutput('api listening');
  });

  afterAll(async () => {
    if (api.child.exitCode === null) {
      api.child.kill('SIGTERM');
      await api.exited;
    }
    await temporal.close();
    await db.$disconnect();
  });

  const logLines = (): Record<string, unknown>[] =>
    api
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('carries the caller’s X-Request-Id into every log line of the request and into the workflow memo', async () => {
    const requestId = `trace-${randomUUID()}`;
    const res = await fetch(`${baseUrl}/v1/orders`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${customerKey}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
        'X-Request-Id': requestId,
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const { orderId } = (await res.json()) as { orderId: string };

    const description = await temporal.client.workflow.getHandle(orderWorkflowId(orderId)).describe();
    expect(description.memo).toEqual({ requestId });

    const lines = await eventually(() => {
      const found = logLines().filter((line) => line['requestId'] === requestId);
      return Promise.resolve(found.some((line) => line['msg'] === 'request completed') ? found : undefined);
    });
    const messages = lines.map((line) => line['msg']);
    expect(messages).toEqual(expect.arrayContaining(['order workflow started', 'request completed']));
    expect(lines.find((line) => line['msg'] === 'order workflow started')).toMatchObject({ orderId });
  });

  it('makes a request id when the caller sends none (or an unusable one), and answers with it', async () => {
    for (const given of [undefined, 'has spaces and ünïcode', 'x'.repeat(200)]) {
      const res = await fetch(`${baseUrl}/v1/products/search?q=chair`, {
        headers: { Authorization: `Bearer ${customerKey}`, ...(given ? { 'X-Request-Id': given } : {}) },
      });
      expect(res.status).toBe(200);
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      // The line is written after the response: wait for it to come through the pipe.
      await eventually(() =>
        Promise.resolve(
          logLines().some((line) => line['requestId'] === id && line['msg'] === 'request completed') ? true : undefined,
        ),
      );
    }
  });

  it('sends security headers on every answer, errors included, and never says what it runs on', async () => {
    for (const res of [
      await fetch(`${baseUrl}/health/live`),
      await fetch(`${baseUrl}/v1/orders/${randomUUID()}`), // 401
      await fetch(`${baseUrl}/v1/orders/not-a-uuid`, { headers: { Authorization: `Bearer ${customerKey}` } }), // 400
    ]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('never writes API keys or payment tokens to the log, not even for refused requests', async () => {
    await fetch(`${baseUrl}/v1/orders/${randomUUID()}`, { headers: { Authorization: `Bearer ${unknownKey}` } });
    await fetch(`${baseUrl}/v1/orders`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${customerKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body), // no Idempotency-Key: refused with 400
    });
    api.child.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);

    const output = api.output();
    expect(output).toContain('request completed');
    for (const secret of [customerKey, unknownKey, paymentToken, customerKey.split('_')[2]!]) {
      expect(output).not.toContain(secret);
    }
    // The key's owner is named instead: its id and role, never the key.
    expect(logLines().some((line) => line['role'] === 'customer' && typeof line['keyId'] === 'string')).toBe(true);
  });
});
