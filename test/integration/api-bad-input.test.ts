import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import { startApi, type TestPlatform } from '../support/platform';

/** What each kind of bad input gets: a 4xx problem+json naming the problem, and nothing started. */
describe('API bad input', () => {
  let api: TestPlatform;
  let customerKey: string;
  let sellerKey: string;
  let productId: string;
  let customerId: string;
  beforeAll(async () => {
    api = await startApi();
    const { seller, products } = await createSellerWithProducts(api.deps.db);
    const customer = await createCustomer(api.deps.db);
    productId = products[0]!.id;
    customerId = customer.id;
    customerKey = await api.keyFor({ role: 'customer', customerId });
    sellerKey = await api.keyFor({ role: 'seller', sellerId: seller.id });
  });
  afterAll(() => api.close());

  type Caller = 'operator' | 'customer' | 'seller';
  const keyOf = (caller: Caller): string =>
    caller === 'customer' ? customerKey : caller === 'seller' ? sellerKey : api.operatorKey;

  /** Writes of every kind, each with the key of a role that may use it. */
  // Paths are functions: the ids exist only once beforeAll has run.
  const writes = (): {
    name: string;
    method: 'post' | 'patch';
    path: () => string;
    caller: Caller;
    headers?: object;
  }[] => [
    { name: 'POST /v1/probes', method: 'post', path: () => '/v1/probes', caller: 'operator' },
    {
      name: 'POST /v1/orders',
      method: 'post',
      path: () => '/v1/orders',
      caller: 'customer',
      headers: { 'Idempotency-Key': `bad-input-${randomUUID()}` },
    },
    {
      name: 'POST /v1/orders/{id}/cancel',
      method: 'post',
      path: () => `/v1/orders/${randomUUID()}/cancel`,
      caller: 'customer',
    },
    { name: 'POST /v1/products', method: 'post', path: () => '/v1/products', caller: 'seller' },
    { name: 'PATCH /v1/products/{id}', method: 'patch', path: () => `/v1/products/${productId}`, caller: 'seller' },
    {
      name: 'POST /v1/products/{id}/reviews',
      method: 'post',
      path: () => `/v1/products/${productId}/reviews`,
      caller: 'customer',
    },
    {
      name: 'POST /v1/shipments/{id}/delivered',
      method: 'post',
      path: () => `/v1/shipments/${randomUUID()}/delivered`,
      caller: 'seller',
    },
  ];
  type Method = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
  /** A request with exactly this caller's key (no default operator key). */
  const as = (caller: Caller, method: Method, path: string) => {
    const agent = request(api.bareApp);
    return agent[method](path).set('Authorization', `Bearer ${keyOf(caller)}`);
  };
  const send = (w: ReturnType<typeof writes>[number]) => as(w.caller, w.method, w.path()).set({ ...(w.headers ?? {}) });

  const expectProblem = (res: request.Response, status: number, type: string): void => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, type: `https://shopflow.dev/problems/${type}` });
    expect(JSON.stringify(res.body)).not.toMatch(/at .+\.ts:\d+/); // never a stack trace
  };

  it('a body that is not JSON gets 415', async () => {
    const res = await request(api.app).post('/v1/probes').set('Content-Type', 'text/plain').send('note=hi');
    expectProblem(res, 415, 'unsupported-media-type');
    expect(res.body.detail).toContain('text/plain');
  });

  it('malformed JSON gets 400 malformed-json', async () => {
    const res = await request(api.app).post('/v1/probes').set('Content-Type', 'application/json').send('{"note":');
    expectProblem(res, 400, 'malformed-json');
  });

  it('a body over 100 kB gets 413', async () => {
    const res = await request(api.app)
      .post('/v1/probes')
      .send({ note: 'x'.repeat(200_000) });
    expectProblem(res, 413, 'payload-too-large');
  });

  it('bad fields get 400 naming each field', async () => {
    const res = await request(api.app)
      .post('/v1/probes')
      .send({ note: 'y'.repeat(501), probeId: 'not-a-uuid', extra: true });
    expectProblem(res, 400, 'validation-error');
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'body.note', message: 'must be at most 500 characters' },
        { field: 'body.probeId', message: 'must be a UUID' },
        expect.objectContaining({ field: 'body' }),
      ]),
    );
  });

  it('a bad path parameter gets 400 naming it', async () => {
    const res = await request(api.app).get('/v1/probes/123');
    expectProblem(res, 400, 'validation-error');
    expect(res.body.errors).toEqual([{ field: 'path.probeId', message: 'must be a UUID' }]);
  });

  it('an unknown route gets 404', async () => {
    expectProblem(await request(api.app).get('/v1/nothing-here'), 404, 'not-found');
  });

  it('a wrong method gets 405 with Allow', async () => {
    const res = await request(api.app).delete('/v1/probes');
    expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers['allow']).toBe('POST');
  });

  it('OPTIONS is a method the API does not serve: 405 with every method the path has, from every router', async () => {
    // GET /v1/orders/{id} and its cancel, saga and events routes live in three routers.
    const order = await request(api.app).options('/v1/orders/00000000-0000-4000-8000-000000000000');
    expectProblem(order, 405, 'method-not-allowed');
    expect(order.headers['allow']).toBe('GET, HEAD');
    const orders = await request(api.app).options('/v1/orders');
    expect(orders.headers['allow']).toBe('POST');
    expectProblem(await request(api.app).options('/v1/nothing-here'), 404, 'not-found');
  });

  it('errors of express itself keep their status: a docs asset with a stale If-Match is 412, not 400', async () => {
    const res = await request(api.app).get('/docs/swagger-ui.css').set('If-Match', '"nope"');
    expectProblem(res, 412, 'request-refused');
    expect((await request(api.app).get('/docs/swagger-ui.css').set('Range', 'bytes=99999999-')).status).toBe(200);
    expectProblem(await request(api.app).get('/docs/constructor'), 404, 'not-found');
  });

  describe('on every kind of write, for every role that may write', () => {
    it.each(writes().map((w) => [w.name, w]))('%s: a body that is not JSON gets 415', async (_name, w) => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) {
        const res = await send(w).set('Content-Type', type).send('note=hi');
        expectProblem(res, 415, 'unsupported-media-type');
      }
    });

    it.each(writes().map((w) => [w.name, w]))('%s: malformed JSON gets 400 malformed-json', async (_name, w) => {
      for (const body of ['{"note":', "{'a': 1}", '{"a": 1,}', '1', 'null']) {
        const res = await send(w).set('Content-Type', 'application/json').send(body);
        expectProblem(res, 400, 'malformed-json');
      }
    });

    it.each(writes().map((w) => [w.name, w]))('%s: a body over 100 kB gets 413', async (_name, w) => {
      const res = await send(w)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ note: 'x'.repeat(200_000) }));
      expectProblem(res, 413, 'payload-too-large');
      expect(res.body.detail).toContain('100kb');
    });

    it.each(writes().map((w) => [w.name, w]))(
      '%s: JSON that is not an object gets 400 naming the body',
      async (_name, w) => {
        for (const body of ['[]', '[{}]']) {
          const res = await send(w).set('Content-Type', 'application/json').send(body);
          expectProblem(res, 400, 'validation-error');
          expect(res.body.errors.length).toBeGreaterThan(0);
          for (const e of res.body.errors) expect(e.field).toMatch(/^body(\.|$)/);
        }
      },
    );
  });

  it('bad fields of an order get 400 naming each field, the Idempotency-Key first', async () => {
    const body = orderRequestBody(customerId, [{ productId: 'nope', quantity: 0.5 }], {
      shippingAddress: { recipient: ' ', line1: 'x', city: 'y', postalCode: 'z', country: 'gb' },
      payment: { token: 'visa' },
      extra: 1,
    });
    const fieldsOf = (res: request.Response) => (res.body.errors as { field: string }[]).map((e) => e.field).sort();

    const withoutKey = await as('customer', 'post', '/v1/orders').send(body);
    expectProblem(withoutKey, 400, 'validation-error');
    expect(fieldsOf(withoutKey)).toEqual(['header.Idempotency-Key']);

    const withKey = await as('customer', 'post', '/v1/orders').set('Idempotency-Key', `bad-${randomUUID()}`).send(body);
    expectProblem(withKey, 400, 'validation-error');
    expect(fieldsOf(withKey)).toEqual([
      'body',
      'body.items.0.productId',
      'body.items.0.quantity',
      'body.payment.token',
      'body.shippingAddress.country',
      'body.shippingAddress.recipient',
    ]);
  });

  it('bad query parameters and headers of reads get 400 naming each', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['/v1/products/search?limit=1&limit=2', {}, 'query.limit'],
      [`/v1/customers/${randomUUID()}/orders?limit=0`, {}, 'query.limit'],
      [`/v1/orders/${randomUUID()}/events?after=-1`, {}, 'query.after'],
      [`/v1/orders/${randomUUID()}?asOf=soon`, {}, 'query.asOf'],
      ['/v1/products/search', { 'Shopflow-Min-Position': 'garbage' }, 'header.Shopflow-Min-Position'],
      [`/v1/products/${productId}`, { 'If-Match': 'garbage' }, 'header.If-Match'],
    ];
    for (const [path, headers, field] of cases) {
      const method = path.startsWith('/v1/products/') && !path.includes('search') ? 'patch' : 'get';
      const res = await as('operator', method, path)
        .set(headers)
        .send(method === 'patch' ? { name: 'x' } : undefined);
      expectProblem(res, 400, 'validation-error');
      expect((res.body.errors as { field: string }[]).map((e) => e.field)).toContain(field);
    }
  });

  it('bad path parameters get 400 naming them, for every role', async () => {
    const cases: [Caller, Method, string, string][] = [
      ['operator', 'get', '/v1/probes/123', 'path.probeId'],
      ['customer', 'get', '/v1/orders/not-a-uuid', 'path.orderId'],
      ['customer', 'get', '/v1/customers/..%2F/orders', 'path.customerId'],
      ['seller', 'get', '/v1/sellers/%00/dashboard', 'path.sellerId'],
      ['seller', 'patch', `/v1/products/${'a'.repeat(300)}`, 'path.productId'],
    ];
    for (const [caller, method, path, field] of cases) {
      const res = await as(caller, method, path);
      expectProblem(res, 400, 'validation-error');
      expect(res.body.errors).toEqual([{ field, message: 'must be a UUID' }]);
    }
  });

  it('unknown routes get 404, with any key and without one outside /v1', async () => {
    const unknown: [Caller, Method, string][] = [
      ['operator', 'get', '/v1/nothing-here'],
      ['customer', 'post', `/v1/orders/${randomUUID()}/refund`],
      ['seller', 'get', '/v1/sellers'],
      ['operator', 'delete', `/v1/products/${randomUUID()}/reviews/${randomUUID()}`],
      ['customer', 'get', '/v2/orders'],
    ];
    for (const [caller, method, path] of unknown) {
      const res = await as(caller, method, path);
      expectProblem(res, 404, 'not-found');
      expect(res.body.detail).toContain(path.split('?')[0]);
    }
    expectProblem(await request(api.bareApp).get('/nothing-here'), 404, 'not-found');
  });

  it('a known path under another method gets 405 with Allow, for every role', async () => {
    const id = randomUUID();
    const wrong: [Caller, Method, string, string][] = [
      ['operator', 'delete', '/v1/probes', 'POST'],
      ['customer', 'get', '/v1/orders', 'POST'],
      ['customer', 'put', `/v1/orders/${id}`, 'GET, HEAD'],
      ['customer', 'get', `/v1/orders/${id}/cancel`, 'POST'],
      ['seller', 'get', `/v1/products/${id}`, 'PATCH'],
      ['seller', 'post', `/v1/sellers/${id}/dashboard`, 'GET, HEAD'],
      ['seller', 'patch', `/v1/shipments/${id}/delivered`, 'POST'],
      ['operator', 'delete', `/v1/products/${id}/reviews`, 'POST'],
    ];
    for (const [caller, method, path, allow] of wrong) {
      const res = await as(caller, method, path);
      expect(res.status).toBe(405);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['allow']).toBe(allow);
      expectProblem(res, 405, 'method-not-allowed');
    }
    const head = await as('customer', 'head', '/v1/orders');
    expect(head.status).toBe(405);
    expect(head.headers['allow']).toBe('POST');
    expect(head.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('a missing or bad key gets 401 before the body is read', async () => {
    for (const authorization of [undefined, 'Bearer nope', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const req = request(api.bareApp).post('/v1/orders').set('Content-Type', 'text/plain');
      if (authorization) req.set('Authorization', authorization);
      const res = await req.send('x'.repeat(200_000));
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  // Found by test/integration/api-properties.test.ts: each of these was answered with a 500 or taken.
  describe('requests the property tests found mishandled', () => {
    it.each(['gzip', 'deflate', 'br'])(
      'a body that is not in its Content-Encoding (%s) gets 400, not 500',
      async (encoding) => {
        const res = await request(api.app)
          .post('/v1/probes')
          .set('Content-Type', 'application/json')
          .set('Content-Encoding', encoding)
          .send('{"note":"not compressed"}');
        expectProblem(res, 400, 'malformed-json');
      },
    );

    it.each(['%ZZ', '%E0%A4%A', '%C0%AF', '%'])(
      'a path parameter that is not valid percent-encoding (%s) gets 400, not 500',
      async (segment) => {
        for (const path of [`/v1/orders/${segment}`, `/v1/products/${segment}`, `/v1/sellers/${segment}/dashboard`]) {
          const res = await request(api.app)[path.startsWith('/v1/products/') ? 'patch' : 'get'](path);
          expect({ path, status: res.status }).toEqual({ path, status: 400 });
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(res.body).toMatchObject({ status: 400 });
        }
      },
    );

    it('a JSON body in UTF-16 that decodes to nothing is refused, not taken as {} (it started a probe)', async () => {
      const res = await request(api.app)
        .post('/v1/probes')
        .set('Content-Type', 'application/json; charset=utf-16')
        .send('1');
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });
  });

  it('keeps a well-formed caller request id and replaces a bad one', async () => {
    const kept = await request(api.app).get('/health/live').set('X-Request-Id', 'req-123');
    expect(kept.headers['x-request-id']).toBe('req-123');
    const replaced = await request(api.app).get('/health/live').set('X-Request-Id', 'bad id with spaces');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
