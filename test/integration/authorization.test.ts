import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { orderWorkflowId } from '../../domain/ids';
import { createApiKey, revokeApiKey } from '../../access/api-keys';
import { createReadCache } from '../../read-models/cache';
import { ordersReadProjection } from '../../read-models/projections/orders-read';
import { catchUp } from '../../read-models/projections/runner';
import { sellerDashboardProjection } from '../../read-models/projections/seller-dashboard';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import { createOutboxDatabase, type OutboxDatabase } from '../support/outbox';
import {
  eventually,
  startApi,
  startWorker,
  testConfig,
  type RunningWorker,
  type TestPlatform,
} from '../support/platform';

/**
 * Who may do what, cell by cell (issue 9; the table in docs/http-api.md, "Authentication and roles").
 * One world: customers A and B, sellers S and T with a product each, an order of A with a line of
 * S's product (placed over HTTP, shipped, S's shipment delivered, so the order is closed), a probe.
 * Every /v1 route is called by every kind of caller, and the expected answer of each call is
 * written out below by hand, not derived from the code's rules.
 */

const PROBLEM = 'https://shopflow.dev/problems/';

const callers = [
  'none',
  'malformed',
  'unknown',
  'revoked',
  'customerOwn',
  'customerOther',
  'sellerOwn',
  'sellerOther',
  'operator',
] as const;
type Caller = (typeof callers)[number];

/**
 * What "own" and "other" mean: the resources are A's and S's (A's order with S's line, S's
 * product, S's shipment). customerOwn is A, customerOther is B, sellerOwn is S, sellerOther is T,
 * each acting on them. Reviews are of T's product, which A never bought, and name A as the
 * reviewer: allowed, they are refused as `not-a-buyer`, so nothing is written.
 */
interface World {
  customerA: string;
  customerB: string;
  sellerS: string;
  sellerT: string;
  productS: string;
  productT: string;
  skuS: string;
  orderId: string;
  shipmentS: string;
  probeId: string;
}

interface Call {
  method: 'get' | 'post' | 'patch';
  path: string;
  body?: object;
  headers?: Record<string, string>;
}

/**
 * Each route's request, chosen so that an allowed caller's answer is harmless and tells allowed
 * from refused: an order for a product that does not exist (422), a product with a SKU that is
 * taken (409), a PATCH with a stale If-Match (412), a cancel of a closed order (409), a second
 * delivery report (200), a review by a non-buyer (403 not-a-buyer).
 */
const routes = {
  'POST /v1/orders': (w: World): Call => ({
    method: 'post',
    path: '/v1/orders',
    headers: { 'Idempotency-Key': `authz-${randomUUID()}` },
    body: orderRequestBody(w.customerA, [{ productId: randomUUID(), quantity: 1 }]),
  }),
  'GET /v1/orders/{orderId}': (w: World): Call => ({ method: 'get', path: `/v1/orders/${w.orderId}` }),
  'GET /v1/orders/{orderId}/events': (w: World): Call => ({ method: 'get', path: `/v1/orders/${w.orderId}/events` }),
  'GET /v1/orders/{orderId}/saga': (w: World): Call => ({ method: 'get', path: `/v1/orders/${w.orderId}/saga` }),
  'POST /v1/orders/{orderId}/cancel': (w: World): Call => ({
    method: 'post',
    path: `/v1/orders/${w.orderId}/cancel`,
    body: { reason: 'authorization test' },
  }),
  'GET /v1/customers/{customerId}/orders': (w: World): Call => ({
    method: 'get',
    path: `/v1/customers/${w.customerA}/orders`,
  }),
  'GET /v1/sellers/{sellerId}/orders': (w: World): Call => ({ method: 'get', path: `/v1/sellers/${w.sellerS}/orders` }),
  'GET /v1/sellers/{sellerId}/dashboard': (w: World): Call => ({
    method: 'get',
    path: `/v1/sellers/${w.sellerS}/dashboard`,
  }),
  'GET /v1/products/search': (): Call => ({ method: 'get', path: '/v1/products/search' }),
  'POST /v1/products': (w: World): Call => ({
    method: 'post',
    path: '/v1/products',
    body: {
      sellerId: w.sellerS,
      sku: w.skuS,
      name: 'A second product with a taken SKU',
      categoryPath: 'test/products',
      priceMinor: 100,
      currency: 'EUR',
      stock: 1,
    },
  }),
  'PATCH /v1/products/{productId}': (w: World): Call => ({
    method: 'patch',
    path: `/v1/products/${w.productS}`,
    headers: { 'If-Match': '"999999"' },
    body: { name: 'Renamed by the authorization test' },
  }),
  'POST /v1/products/{productId}/reviews': (w: World): Call => ({
    method: 'post',
    path: `/v1/products/${w.productT}/reviews`,
    body: { customerId: w.customerA, rating: 5, body: 'never bought it' },
  }),
  'POST /v1/shipments/{shipmentId}/delivered': (w: World): Call => ({
    method: 'post',
    path: `/v1/shipments/${w.shipmentS}/delivered`,
    body: {},
  }),
  'POST /v1/probes': (): Call => ({ method: 'post', path: '/v1/probes', body: { note: 'authorization test' } }),
  'GET /v1/probes/{probeId}': (w: World): Call => ({ method: 'get', path: `/v1/probes/${w.probeId}` }),
} as const;
type Route = keyof typeof routes;

/**
 * The expected answer of every cell: a status, and for problems their type. A bare 401, 403 or
 * 404 means the types `unauthorized`, `forbidden` and `not-found`.
 */
type Expected = `${number}` | `${number} ${string}`;
/** A route and its answer to each caller, in the order of `callers`. */
type Row = [
  route: Route,
  none: Expected,
  malformed: Expected,
  unknown: Expected,
  revoked: Expected,
  customerOwn: Expected,
  customerOther: Expected,
  sellerOwn: Expected,
  sellerOther: Expected,
  operator: Expected,
];

// prettier-ignore
const grid: Row[] = [
  //                                             no key malformed unknown revoked customer A (own)           customer B (other) seller S (own)             seller T (other) operator
  ['POST /v1/orders',                            '401', '401', '401', '401',     '422 unprocessable-order', '403',              '403',                     '403',            '422 unprocessable-order'],
  ['GET /v1/orders/{orderId}',                   '401', '401', '401', '401',     '200',                     '404',              '200',                     '404',            '200'],
  ['GET /v1/orders/{orderId}/events',            '401', '401', '401', '401',     '200',                     '404',              '403',                     '403',            '200'],
  ['GET /v1/orders/{orderId}/saga',              '401', '401', '401', '401',     '200',                     '404',              '403',                     '403',            '200'],
  ['POST /v1/orders/{orderId}/cancel',           '401', '401', '401', '401',     '409 order-closed',        '404',              '403',                     '403',            '409 order-closed'],
  ['GET /v1/customers/{customerId}/orders',      '401', '401', '401', '401',     '200',                     '404',              '403',                     '403',            '200'],
  ['GET /v1/sellers/{sellerId}/orders',          '401', '401', '401', '401',     '403',                     '403',              '200',                     '404',            '200'],
  ['GET /v1/sellers/{sellerId}/dashboard',       '401', '401', '401', '401',     '403',                     '403',              '200',                     '404',            '200'],
  ['GET /v1/products/search',                    '401', '401', '401', '401',     '200',                     '200',              '200',                     '200',            '200'],
  ['POST /v1/products',                          '401', '401', '401', '401',     '403',                     '403',              '409 duplicate-sku',       '403',            '409 duplicate-sku'],
  ['PATCH /v1/products/{productId}',             '401', '401', '401', '401',     '403',                     '403',              '412 precondition-failed', '404',            '412 precondition-failed'],
  ['POST /v1/products/{productId}/reviews',      '401', '401', '401', '401',     '403 not-a-buyer',         '403',              '403',                     '403',            '403 not-a-buyer'],
  ['POST /v1/shipments/{shipmentId}/delivered',  '401', '401', '401', '401',     '403',                     '403',              '200',                     '404',            '200'],
  ['POST /v1/probes',                            '401', '401', '401', '401',     '403',                     '403',              '403',                     '403',            '202'],
  ['GET /v1/probes/{probeId}',                   '401', '401', '401', '401',     '403',                     '403',              '403',                     '403',            '200'],
];

const cells = grid.flatMap(([route, ...expected]) =>
  callers.map((caller, i) => ({ route, caller, expected: expected[i]! })),
);

const defaultTypes: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden', 404: 'not-found' };

function parseExpected(expected: Expected): { status: number; type?: string } {
  const [status, type] = expected.split(' ');
  const code = Number(status);
  const problemType = type ?? defaultTypes[code];
  return problemType ? { status: code, type: problemType } : { status: code };
}

/** What an allowed read must show, so that a 200 is the caller's data and not an empty answer. */
const successBodies: Partial<Record<Route, (body: Record<string, unknown>, w: World, caller: Caller) => void>> = {
  // A seller reads its part of the order (the seller view), the others the whole order.
  'GET /v1/orders/{orderId}': (body, w, caller) =>
    caller === 'sellerOwn'
      ? expect(body).toEqual(expect.objectContaining({ orderId: w.orderId, sellerId: w.sellerS }))
      : expect(body).toMatchObject({ orderId: w.orderId, customerId: w.customerA }),
  'GET /v1/orders/{orderId}/events': (body, w) =>
    expect(body).toMatchObject({ orderId: w.orderId, events: expect.arrayContaining([expect.anything()]) }),
  'GET /v1/orders/{orderId}/saga': (body) => expect(body).toMatchObject({ status: 'DELIVERED' }),
  'GET /v1/customers/{customerId}/orders': (body, w) =>
    expect(body).toMatchObject({ items: [expect.objectContaining({ orderId: w.orderId })] }),
  'GET /v1/sellers/{sellerId}/orders': (body, w) =>
    expect(body).toMatchObject({ items: [expect.objectContaining({ orderId: w.orderId })] }),
  'GET /v1/sellers/{sellerId}/dashboard': (body, w) =>
    expect(body).toMatchObject({ sellerId: w.sellerS, orders: expect.objectContaining({ total: 1 }) }),
  'POST /v1/shipments/{shipmentId}/delivered': (body, w) =>
    expect(body).toMatchObject({ shipmentId: w.shipmentS, status: 'DELIVERED' }),
  'GET /v1/probes/{probeId}': (body, w) => expect(body).toMatchObject({ probeId: w.probeId }),
  'POST /v1/probes': (body) => expect(body).toMatchObject({ status: 'RUNNING' }),
};

describe('authorization: role × route', () => {
  let outbox: OutboxDatabase;
  let api: TestPlatform;
  let worker: RunningWorker;
  let world: World;
  const keys = {} as Record<Caller, string | undefined>;

  const send = (call: Call, key: string | undefined) => {
    let req = request(api.bareApp)[call.method](call.path);
    for (const [name, value] of Object.entries(call.headers ?? {})) req = req.set(name, value);
    if (key !== undefined) req = req.set('Authorization', key);
    return call.body === undefined ? req : req.send(call.body);
  };
  const bearer = (key: string) => `Bearer ${key}`;

  beforeAll(async () => {
    // A database of its own: the projections below are caught up over this world's events only.
    outbox = await createOutboxDatabase('authz');
    const config = testConfig({ DATABASE_URL: outbox.url });
    api = await startApi(config);
    worker = await startWorker(config);
    const { db } = api.deps;

    const [a, b] = [await createCustomer(db), await createCustomer(db)];
    const s = await createSellerWithProducts(db, [{ stock: 10 }]);
    const t = await createSellerWithProducts(db, [{ stock: 10 }]);
    const operatorToRevoke = await createApiKey(db, { role: 'operator', name: 'revoked before use' });
    await revokeApiKey(db, operatorToRevoke.record.id);
    Object.assign(keys, {
      none: undefined,
      malformed: bearer('sfk_not-a-key'),
      unknown: bearer(`sfk_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`),
      revoked: bearer(operatorToRevoke.key),
      customerOwn: bearer(await api.keyFor({ role: 'customer', customerId: a.id })),
      customerOther: bearer(await api.keyFor({ role: 'customer', customerId: b.id })),
      sellerOwn: bearer(await api.keyFor({ role: 'seller', sellerId: s.seller.id })),
      sellerOther: bearer(await api.keyFor({ role: 'seller', sellerId: t.seller.id })),
      operator: bearer(api.operatorKey),
    });
    const asOperator = (call: Call) => send(call, keys.operator);

    // A places the order with their own key, leaving customerId out: the key says who orders.
    const { customerId: _named, ...body } = orderRequestBody(a.id, [{ productId: s.products[0]!.id, quantity: 1 }]);
    const placed = await send(
      { method: 'post', path: '/v1/orders', headers: { 'Idempotency-Key': `authz-${randomUUID()}` }, body },
      keys.customerOwn,
    ).expect(202);
    const orderId = (placed.body as { orderId: string }).orderId;
    const orderPath = `/v1/orders/${orderId}`;
    await eventually(async () => {
      const res = await asOperator({ method: 'get', path: orderPath });
      return res.status === 200 && res.body.status === 'SHIPPED' ? true : undefined;
    }, 60_000);
    const shipment = await db.shipment.findFirstOrThrow({ where: { orderId } });
    expect(shipment.sellerId).toBe(s.seller.id);

    // Delivered before the grid runs, so that every allowed delivery report and cancel is a no-op.
    await asOperator({ method: 'post', path: `/v1/shipments/${shipment.id}/delivered`, body: {} }).expect(202);
    await api.deps.temporal.client.workflow.getHandle(orderWorkflowId(orderId)).result();
    await eventually(async () =>
      (await db.shipment.findUniqueOrThrow({ where: { id: shipment.id } })).status === 'DELIVERED' ? true : undefined,
    );

    const cache = createReadCache({ redis: api.deps.redis, ttlMs: config.cache.ttlMs, logger: api.deps.logger });
    await catchUp({ db, projection: ordersReadProjection, cache });
    await catchUp({ db, projection: sellerDashboardProjection, cache });

    const probe = await asOperator({ method: 'post', path: '/v1/probes', body: { note: 'authz world' } }).expect(202);

    world = {
      customerA: a.id,
      customerB: b.id,
      sellerS: s.seller.id,
      sellerT: t.seller.id,
      productS: s.products[0]!.id,
      productT: t.products[0]!.id,
      skuS: s.products[0]!.sku,
      orderId,
      shipmentS: shipment.id,
      probeId: (probe.body as { probeId: string }).probeId,
    };
  }, 180_000);

  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await outbox?.drop();
  });

  it('the table has a row for every /v1 route the app serves, and no other', () => {
    expect(new Set(v1RoutesOf(api.bareApp))).toEqual(new Set(Object.keys(routes)));
    expect(grid.map(([route]) => route).sort()).toEqual(Object.keys(routes).sort());
  });

  it.each(cells)('$route as $caller → $expected', async ({ route, caller, expected }) => {
    const res = await send(routes[route](world), keys[caller]);

    const { status, type } = parseExpected(expected);
    expect({ status: res.status, type: res.body?.type }).toEqual({
      status,
      type: type === undefined ? res.body?.type : PROBLEM + type,
    });
    if (type !== undefined) expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    if (status === 401) {
      expect(res.headers['www-authenticate']).toBe(caller === 'none' ? 'Bearer' : 'Bearer error="invalid_token"');
    }
    if (status < 300) successBodies[route]?.(res.body as Record<string, unknown>, world, caller);
  });

  describe('"not yours" looks exactly like "does not exist"', () => {
    const notYours = cells.filter((cell) => cell.expected === '404');

    it.each(notYours)('$route as $caller: the same 404 as for an id that does not exist', async ({ route, caller }) => {
      const missing: World = {
        ...Object.fromEntries(Object.keys(world).map((k) => [k, randomUUID()])),
        skuS: world.skuS,
      } as World;

      const [theirs, none] = await Promise.all([
        send(routes[route](world), keys[caller]),
        send(routes[route](missing), keys[caller]),
      ]);

      expect(theirs.status).toBe(404);
      expect(none.status).toBe(404);
      // Ids aside (the detail and instance name the one asked for), the two answers are the same.
      expect(withoutIds(theirs.body, world)).toEqual(withoutIds(none.body, missing));
      expect(theirs.headers['content-type']).toBe(none.headers['content-type']);
    });

    // `asOf` reads older versions: whose order it is is settled first, so neither "has no version
    // N; its latest is M" nor "did not exist at version N" tells another caller the order exists.
    it.each([
      ['customerOther', '1'],
      ['customerOther', '999'],
      ['sellerOther', '999'],
    ] as const)(
      'GET /v1/orders/{orderId} as %s with asOf=%s: the same 404 as for an id that does not exist',
      async (caller, asOf) => {
        const missing = randomUUID();

        const [theirs, none] = await Promise.all([
          send({ method: 'get', path: `/v1/orders/${world.orderId}?asOf=${asOf}` }, keys[caller]),
          send({ method: 'get', path: `/v1/orders/${missing}?asOf=${asOf}` }, keys[caller]),
        ]);

        expect(theirs.status).toBe(404);
        expect(withoutIds(theirs.body, world)).toEqual(withoutIds(none.body, { ...world, orderId: missing }));
      },
    );
  });

  describe('without a key', () => {
    it('every /v1 route, and any path under /v1, is 401 with WWW-Authenticate: Bearer', async () => {
      const known = v1RoutesOf(api.bareApp).map((route) => route.replace(/\{[^}]+\}/g, () => randomUUID()));
      const unknown = [
        'GET /v1',
        'GET /v1/',
        'GET /v1/nothing-here',
        'GET /V1/Orders/' + randomUUID(),
        'POST /v1/orders/not-a-uuid/refund',
        'DELETE /v1/orders/' + randomUUID(),
        'PUT /v1/products/' + randomUUID(),
        'HEAD /v1/products/search',
      ];
      expect(known.length).toBe(Object.keys(routes).length);

      for (const line of [...known, ...unknown]) {
        const [method, path] = line.split(' ') as [string, string];
        const res = await request(api.bareApp)[method.toLowerCase() as 'get'](path);

        expect({ line, status: res.status, auth: res.headers['www-authenticate'] }).toEqual({
          line,
          status: 401,
          auth: 'Bearer',
        });
        if (method !== 'HEAD') expect(res.body.type).toBe(PROBLEM + 'unauthorized');
      }
    });

    it.each([
      ['a Basic credential', 'Basic dXNlcjpwYXNz'],
      ['Bearer with nothing', 'Bearer '],
      ['two tokens', `Bearer ${'sfk_' + 'a'.repeat(16)} extra`],
      ['a key with a changed secret', 'changed-secret'],
    ])('%s is 401 with error="invalid_token"', async (_what, header) => {
      const value = header === 'changed-secret' ? changedLastCharacter(keys.operator!) : header;

      const res = await request(api.bareApp).get('/v1/products/search').set('Authorization', value);

      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    // /metrics is not on the API's port (API_METRICS_PORT): test/integration/metrics.test.ts.
    it.each(['/health/live', '/openapi.json', '/docs'])('%s is public', async (path) => {
      const res = await request(api.bareApp).get(path);

      expect(res.status).toBe(200);
    });
  });

  describe('read-your-writes positions', () => {
    const withPosition = (path: string, orderId: string, key: string | undefined) =>
      send({ method: 'get', path, headers: { 'Shopflow-Min-Position': `order:${orderId}:1` } }, key);

    it('a customer waits on its own order; another customer naming it gets the 400 a missing order gets', async () => {
      const own = await withPosition(`/v1/customers/${world.customerA}/orders`, world.orderId, keys.customerOwn);
      expect(own.status).toBe(200);
      expect(own.headers['shopflow-consistency']).toBe('reached');

      const missing = randomUUID();
      for (const path of [`/v1/customers/${world.customerB}/orders`, `/v1/orders/${world.orderId}`]) {
        const [theirs, none] = await Promise.all([
          withPosition(path, world.orderId, keys.customerOther),
          withPosition(path, missing, keys.customerOther),
        ]);
        expect(theirs.status).toBe(400);
        expect(theirs.body.errors).toEqual([
          {
            field: 'header.Shopflow-Min-Position',
            message: `names order ${world.orderId}, which this key cannot read`,
          },
        ]);
        const scrubbed = (body: unknown) =>
          JSON.stringify(body).replaceAll(world.orderId, '<order>').replaceAll(missing, '<order>');
        expect(scrubbed(theirs.body)).toBe(scrubbed(none.body));
      }
    });

    it('a seller names no order positions (it writes none); an operator names any', async () => {
      const seller = await withPosition(`/v1/sellers/${world.sellerS}/orders`, world.orderId, keys.sellerOwn);
      expect(seller.status).toBe(400);
      const operator = await withPosition(`/v1/customers/${world.customerA}/orders`, world.orderId, keys.operator);
      expect(operator.headers['shopflow-consistency']).toBe('reached');
    });
  });

  describe('a key acts only for its own party', () => {
    const idempotencyRows = (key: string) => api.deps.db.idempotencyKey.count({ where: { key } });

    it('a customer key naming another customer in POST /v1/orders is 403 on body.customerId; nothing is written', async () => {
      const key = `authz-${randomUUID()}`;
      const body = orderRequestBody(world.customerA, [{ productId: world.productS, quantity: 1 }]);

      const res = await send(
        { method: 'post', path: '/v1/orders', headers: { 'Idempotency-Key': key }, body },
        keys.customerOther,
      );

      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({
        type: PROBLEM + 'forbidden',
        errors: [expect.objectContaining({ field: 'body.customerId' })],
      });
      expect(await idempotencyRows(key)).toBe(0);
      const workflows: string[] = [];
      for (const customerId of [world.customerA, world.customerB]) {
        for await (const run of api.deps.temporal.client.workflow.list({ query: `CustomerId = "${customerId}"` })) {
          workflows.push(run.workflowId);
        }
      }
      expect(workflows).toEqual([orderWorkflowId(world.orderId)]);
    });

    it('an operator key must name the customer: 400 on body.customerId', async () => {
      const key = `authz-${randomUUID()}`;
      const { customerId: _left, ...body } = orderRequestBody(world.customerA, [
        { productId: world.productS, quantity: 1 },
      ]);

      const res = await send(
        { method: 'post', path: '/v1/orders', headers: { 'Idempotency-Key': key }, body },
        keys.operator,
      );

      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        type: PROBLEM + 'validation-error',
        errors: [expect.objectContaining({ field: 'body.customerId' })],
      });
      expect(await idempotencyRows(key)).toBe(0);
    });

    it('a seller key naming another seller in POST /v1/products is 403 on body.sellerId; nothing is written', async () => {
      const sku = `AUTHZ-${randomUUID().slice(0, 8)}`;
      const body = { ...routes['POST /v1/products'](world).body, sku };

      const res = await send({ method: 'post', path: '/v1/products', body }, keys.sellerOther);

      expect(res.status).toBe(403);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'body.sellerId' })]);
      expect(await api.deps.db.product.count({ where: { sku } })).toBe(0);
    });

    it('a customer key naming another customer in a review is 403 on body.customerId', async () => {
      const res = await send(routes['POST /v1/products/{productId}/reviews'](world), keys.customerOther);

      expect(res.status).toBe(403);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'body.customerId' })]);
    });
  });

  describe('a seller reads its part of an order, not the whole order', () => {
    // A second order of A with a line of S's product and two of T's, read before the read model
    // has it (the answer folded from its events) and after (the read model, through the cache).
    let orderId: string;
    let email: string;
    const fallback: Partial<Record<'sellerOwn' | 'sellerOther' | 'operator', request.Response>> = {};

    const readAs = (caller: Caller, query = '') =>
      send({ method: 'get', path: `/v1/orders/${orderId}${query}` }, keys[caller]);

    /** What no seller may see anywhere in its answer: the customer, their email, the other seller. */
    const expectNothingOf = (body: unknown, otherSeller: string, otherProduct: string) => {
      const text = JSON.stringify(body);
      for (const secret of [world.customerA, email, otherSeller, otherProduct]) expect(text).not.toContain(secret);
      for (const field of ['customerId', 'customer', 'totalMinor', 'total', 'failureReason', 'sellers', 'shipments'])
        expect(body).not.toHaveProperty(field);
    };

    beforeAll(async () => {
      email = (await api.deps.db.customer.findUniqueOrThrow({ where: { id: world.customerA } })).email;
      const { customerId: _named, ...body } = orderRequestBody(world.customerA, [
        { productId: world.productS, quantity: 1 },
        { productId: world.productT, quantity: 2 },
      ]);
      const placed = await send(
        { method: 'post', path: '/v1/orders', headers: { 'Idempotency-Key': `authz-${randomUUID()}` }, body },
        keys.customerOwn,
      ).expect(202);
      orderId = (placed.body as { orderId: string }).orderId;
      await eventually(async () => {
        const res = await readAs('operator');
        return res.status === 200 && res.body.status === 'SHIPPED' ? true : undefined;
      }, 60_000);
      for (const caller of ['sellerOwn', 'sellerOther', 'operator'] as const) fallback[caller] = await readAs(caller);
      // With the API's cache, so that the lists the grid cached are invalidated as in production.
      const cache = createReadCache({
        redis: api.deps.redis,
        ttlMs: testConfig({ DATABASE_URL: outbox.url }).cache.ttlMs,
        logger: api.deps.logger,
      });
      await catchUp({ db: api.deps.db, projection: ordersReadProjection, cache });
    }, 90_000);

    it('from the events and from the read model alike, S sees its one line, its shipment and where to ship; nothing of A or T', async () => {
      const fromReadModel = await readAs('sellerOwn').expect(200);
      expect(fallback.sellerOwn!.headers['shopflow-consistency']).toBe('fallback');
      for (const res of [fallback.sellerOwn!, fromReadModel]) {
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({
          orderId,
          sellerId: world.sellerS,
          status: 'SHIPPED',
          itemCount: 1,
          subtotalMinor: 1_000,
          shipTo: { recipient: 'Ada Lovelace', city: 'London', country: 'GB' },
          lines: [{ productId: world.productS, quantity: 1, lineTotalMinor: 1_000 }],
          shipment: { status: 'CREATED', shipmentId: expect.any(String), trackingNumber: expect.any(String) },
        });
        expect(res.body.lines).toHaveLength(1);
        expectNothingOf(res.body, world.sellerT, world.productT);
      }
    });

    it('T sees its two units and its own shipment, nothing of S', async () => {
      const shipmentS = (await readAs('sellerOwn')).body.shipment.shipmentId as string;
      for (const res of [fallback.sellerOther!, await readAs('sellerOther')]) {
        expect(res.body).toMatchObject({
          sellerId: world.sellerT,
          itemCount: 2,
          lines: [{ productId: world.productT, quantity: 2 }],
        });
        expect(res.body.shipment.shipmentId).not.toBe(shipmentS);
        expectNothingOf(res.body, world.sellerS, world.productS);
      }
    });

    it('an operator still reads the whole order: both lines, both shipments, the customer', async () => {
      for (const res of [fallback.operator!, await readAs('operator')]) {
        expect(res.body).toMatchObject({ orderId, customerId: world.customerA });
        expect(res.body.lines).toHaveLength(2);
        expect(res.body.shipments).toHaveLength(2);
      }
    });

    it('asOf its first version, S gets the same cut of the rebuilt order', async () => {
      const res = await readAs('sellerOwn', '?asOf=1').expect(200);
      expect(res.body).toMatchObject({
        orderId,
        sellerId: world.sellerS,
        version: 1,
        lines: [{ productId: world.productS }],
      });
      expect(res.body.lines).toHaveLength(1);
      expect(res.body.shipment).toBeNull();
      expectNothingOf(res.body, world.sellerT, world.productT);
    });

    it("S's order list holds S's part of each order: its units, subtotal and product names, the recipient's name", async () => {
      const list = (key: string | undefined) =>
        send({ method: 'get', path: `/v1/sellers/${world.sellerS}/orders` }, key);
      const res = await list(keys.sellerOwn).expect(200);
      const item = (res.body.items as Record<string, unknown>[]).find((i) => i.orderId === orderId);
      expect(item).toMatchObject({ itemCount: 1, subtotalMinor: 1_000, shipToName: 'Ada Lovelace' });
      expect(item!.productNames as string[]).toHaveLength(1);
      expectNothingOf(res.body, world.sellerT, world.productT);
      // An operator reading S's list gets the same part of each order.
      const asOperator = await list(keys.operator).expect(200);
      expect((asOperator.body.items as Record<string, unknown>[]).find((i) => i.orderId === orderId)).toEqual(item);
    });
  });
});

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: RouteLayer[] };
}

/** The app's /v1 routes as `METHOD /v1/path/{param}`, read from its router. */
function v1RoutesOf(app: TestPlatform['bareApp']): string[] {
  const found: string[] = [];
  const visit = (layers: RouteLayer[] | undefined): void => {
    for (const layer of layers ?? []) {
      if (layer.route?.path.startsWith('/v1')) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on) found.push(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
        }
      }
      visit(layer.handle?.stack);
    }
  };
  visit((app as unknown as { router: { stack: RouteLayer[] } }).router.stack);
  return found;
}

/** A problem with the world's ids replaced by their names, to compare answers about different ids. */
function withoutIds(body: Record<string, unknown>, w: World): Record<string, unknown> {
  const strip = (value: unknown): unknown => {
    if (typeof value !== 'string') return value;
    return Object.entries(w).reduce((text, [name, id]) => text.split(id).join(`<${name}>`), value);
  };
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, strip(v)]));
}

/** The key with its last character changed: still well-formed, no longer the key. */
function changedLastCharacter(key: string): string {
  return key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
}
