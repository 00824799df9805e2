import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { migrate } from '../../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../../platform/postgres-admin';
import type { Database } from '../../platform/database';
import {
  answerProblem,
  anyBody,
  badAuthorization,
  badIdempotencyKey,
  badIfMatch,
  badMinPosition,
  badPathSegment,
  badQuery,
  brokenBody,
  malformedJson,
  notAJsonObject,
  notABoolean,
  notAUuid,
  notIntIn,
  notJsonContentType,
  notMatching,
  notShortString,
  notText,
  rawServer,
  someContentEncoding,
  someContentType,
  unknownId,
  unreachedPosition,
  wireLatin1,
  type BodyPayload,
  type BodyShape,
  type RawRequest,
  type RawResponse,
} from '../support/bad-input';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import { startApi, testConfig, type TestPlatform } from '../support/platform';
import { testServices } from '../support/services';

/**
 * Hostile input thrown at every route (fast-check): whatever arrives, the answer is never a 5xx,
 * every error is problem+json naming the bad fields, and nothing is written. The file has a
 * database of its own, so "nothing written" is exact: every write-model table is compared with
 * how it was before, after each request. No worker runs: a workflow started by mistake is found
 * on the file's task queue at the end.
 *
 * On a failure fast-check prints the seed and path of the shrunk case; pass them back as
 * `{ seed, path }` in the route's fc.assert options to replay exactly that request.
 */

// About 25 s for the whole file on two cores.
const RUNS_PER_ROUTE = 150;
const RUNS_WITHOUT_KEY = 150;
const RUNS_UNKNOWN_ROUTES = 150;

type Role = 'operator' | 'customer' | 'seller';

interface World {
  sellerId: string;
  productId: string;
  /** Another seller's: the seller key may not touch it. */
  otherProductId: string;
  customerId: string;
}

/** A route, a request it takes, and what about that request can be made fatally wrong. */
interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH';
  /** With at most one `{id}`, the path parameter. */
  template: string;
  /** A value of `{id}` that names a row (or, for ids only workflows have, any UUID). */
  id?: fc.Arbitrary<string>;
  query?: fc.Arbitrary<string>;
  body?: BodyShape;
  /** A request header the route requires or reads, a good value of it and values it refuses. */
  header?: { name: string; good: fc.Arbitrary<string>; bad: fc.Arbitrary<string> };
  /** A body change that points a reference at no row: refused (404/422/403), never written. */
  reference?: fc.Arbitrary<(body: Record<string, unknown>) => string>;
  /** Reads the positions of this aggregate type in Shopflow-Min-Position. */
  positions?: string;
  /** Writes (or starts a workflow) when the request is good: every generated request must be refused. */
  writes: boolean;
}

interface Case {
  route: string;
  role: Role;
  defect: string;
  request: RawRequest;
}

describe('API properties: hostile input never gets a 5xx or writes anything', () => {
  const databaseUrl = databaseUrlFor(testServices.postgresUrl, `shopflow_test_props_${randomUUID().slice(0, 8)}`);
  let api: TestPlatform;
  let server: Awaited<ReturnType<typeof rawServer>>;
  let world: World;
  const keys = {} as Record<Role, string>;
  let before: Record<string, string>;

  beforeAll(async () => {
    await ensureDatabase(databaseUrl);
    await migrate(databaseUrl);
    // Well-formed positions nobody reached are waited for: briefly, to keep many runs quick.
    api = await startApi(testConfig({ DATABASE_URL: databaseUrl, READ_YOUR_WRITES_WAIT_MS: '30' }));
    const db = api.deps.db;
    const { seller, products } = await createSellerWithProducts(db, [{}, {}]);
    const other = await createSellerWithProducts(db);
    const customer = await createCustomer(db);
    world = {
      sellerId: seller.id,
      productId: products[0]!.id,
      otherProductId: other.products[0]!.id,
      customerId: customer.id,
    };
    keys.operator = api.operatorKey;
    keys.customer = await api.keyFor({ role: 'customer', customerId: customer.id });
    keys.seller = await api.keyFor({ role: 'seller', sellerId: seller.id });
    server = await rawServer(api.bareApp);
    before = await writeModel(db);
  });
  afterAll(async () => {
    await server?.close();
    await api?.close();
    await dropDatabase(databaseUrl);
  });

  it('notices a write, so that "nothing written" can fail', async () => {
    const db = api.deps.db;
    const customer = await createCustomer(db);
    const stock = (delta: number) =>
      db.$executeRawUnsafe(
        'UPDATE inventory SET on_hand = on_hand + $1 WHERE product_id = $2::uuid',
        delta,
        world.productId,
      );
    await stock(1);
    const changed = await writeModel(db);
    await db.customer.delete({ where: { id: customer.id } });
    await stock(-1);
    expect(Object.keys(before).filter((table) => changed[table] !== before[table])).toEqual(['inventory', 'customers']);
    expect(await writeModel(db)).toEqual(before);
  });

  /** The request's Authorization: mostly operators, a share of customers and sellers. */
  const role = fc.constantFrom<Role>('operator', 'operator', 'operator', 'customer', 'seller');

  function caseFor(route: RouteSpec): fc.Arbitrary<Case> {
    const fatal: string[] = [];
    if (route.body) fatal.push('body', 'content-type');
    if (route.id) fatal.push('path');
    if (route.header) fatal.push('header');
    if (route.reference || (route.id && route.writes)) fatal.push('reference');
    // Writes get one defect that refuses them for sure (besides any noise); reads may get none.
    const defect = route.writes ? fc.constantFrom(...fatal) : fc.constantFrom('none', ...fatal);
    const body: fc.Arbitrary<{ broken: BodyPayload | null; any: BodyPayload | null }> = route.body
      ? fc.record({ broken: brokenBody(route.body), any: anyBody(route.body) })
      : fc.record({
          broken: fc.constant(null),
          // A body on a read: ignored when JSON, refused when not.
          any: fc.option(
            fc.oneof(notAJsonObject, malformedJson, fc.constantFrom('{}', '{"a":1}')).map((text) => ({
              defect: `body on a read ${text.slice(0, 20)}`,
              text,
            })),
            { freq: 4 },
          ),
        });
    return fc
      .record({
        role,
        defect,
        body,
        segment: fc.oneof(route.id ?? fc.constant(''), unknownId, badPathSegment),
        goodSegment: route.id ?? fc.constant(''),
        unknownSegment: unknownId,
        badSegment: badPathSegment,
        query: fc.option(route.query ?? badQuery(['page']), { freq: 2 }),
        goodHeader: route.header ? fc.option(route.header.good) : fc.constant(null),
        badHeader: route.header ? route.header.bad : fc.constant(''),
        reference: route.reference ?? fc.constant(undefined),
        contentType: fc.oneof(someContentType, fc.constant('application/json')),
        badContentType: notJsonContentType,
        contentEncoding: fc.option(someContentEncoding, { freq: 6 }),
        minPosition: fc.option(fc.oneof(badMinPosition, unreachedPosition(route.positions ?? 'order')), { freq: 3 }),
        noise: fc.record(
          {
            'X-Request-Id': fc.string({ unit: 'grapheme', maxLength: 200 }).map(wireLatin1),
            Accept: fc.constantFrom('text/html', '*/*', 'application/xml', 'garbage', ''),
            'If-None-Match': fc.constantFrom('*', '"x"', 'W/"1"', 'garbage', '""'),
            'Accept-Charset': fc.constantFrom('latin1', 'utf-16'),
          },
          { requiredKeys: [] },
        ),
        chunked: fc.boolean(),
      })
      .map((g): Case => {
        const defects = [`fatal: ${g.defect}`];
        let segment = route.writes ? g.goodSegment : g.segment;
        if (g.defect === 'path') segment = g.badSegment;
        if (g.defect === 'reference' && route.id) segment = g.unknownSegment;

        const headers: Record<string, string> = { Authorization: `Bearer ${keys[g.role]}`, ...g.noise };
        if (g.minPosition !== null) headers['Shopflow-Min-Position'] = g.minPosition;
        if (route.header) {
          const value = g.defect === 'header' ? g.badHeader : g.goodHeader;
          if (value !== null) headers[route.header.name] = value;
          if (g.defect === 'header') defects.push(`${route.header.name}: ${JSON.stringify(value).slice(0, 80)}`);
        }

        let body = g.body.any;
        if (g.defect === 'body') body = g.body.broken;
        if (g.defect === 'reference' && g.reference && route.body) {
          const valid = structuredClone(route.body.valid);
          body = { defect: g.reference(valid), text: JSON.stringify(valid) };
        }
        if (body) {
          headers['Content-Type'] = g.defect === 'content-type' ? g.badContentType : g.contentType;
          if (g.contentEncoding !== null) headers['Content-Encoding'] = g.contentEncoding;
          defects.push(`body: ${body.defect}`);
        }
        const path = route.template.replace('{id}', segment) + (g.query ?? '');
        return withShortDescription({
          route: `${route.method} ${route.template}`,
          role: g.role,
          defect: defects.join(' | '),
          request: { method: route.method, path, headers, body: body?.text, chunked: g.chunked },
        });
      });
  }

  const nowhere = '00000000-0000-4000-8000-000000000000';
  const routeNames = routesOf({
    sellerId: nowhere,
    productId: nowhere,
    otherProductId: nowhere,
    customerId: nowhere,
  }).map((r) => `${r.method} ${r.template}`);
  routeNames.forEach((name, index) => {
    it(`${name}: ${RUNS_PER_ROUTE} hostile requests, never a 5xx, nothing written`, async () => {
      const route = routesOf(world)[index]!;
      await fc.assert(
        fc.asyncProperty(caseFor(route), async (c) => {
          const res = await server.send(c.request);
          const wrong = answerProblem(res, c.request.method) ?? refusalProblem(route, res);
          if (wrong) throw new Error(`${wrong}\n${JSON.stringify(summary(c, res), null, 2)}`);
          await expectNothingWritten(c, res);
        }),
        { numRuns: RUNS_PER_ROUTE },
      );
    }, 120_000);
  });

  it('every /v1 route refuses a missing or bad key with 401 before reading anything else', async () => {
    const all = routesOf(world);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...all),
        fc.option(badAuthorization, { freq: 4 }),
        fc.oneof(badPathSegment, unknownId),
        fc.option(fc.constantFrom('{"note":', '1', 'x'.repeat(200_000), '{}'), { freq: 2 }),
        async (route, authorization, segment, body) => {
          const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
          if (authorization !== null) headers['Authorization'] = authorization;
          const request = {
            method: route.method,
            path: route.template.replace('{id}', segment),
            headers,
            body: body ?? undefined,
          };
          const res = await server.send(request);
          const wrong = answerProblem(res, route.method) ?? (res.status === 401 ? undefined : `status ${res.status}`);
          if (wrong)
            throw new Error(
              `${wrong}\n${JSON.stringify({ request: short(request), response: res.text.slice(0, 300) })}`,
            );
        },
      ),
      { numRuns: RUNS_WITHOUT_KEY },
    );
    expect(await writeModel(api.deps.db)).toEqual(before);
  }, 120_000);

  it('an unknown route is a 404 and a known path under another method a 405 with Allow', async () => {
    const all = routesOf(world);
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
    const knownPathWrongMethod = fc
      .tuple(fc.constantFrom(...all), fc.constantFrom(...methods), unknownId)
      .map(([route, method, id]) => ({ method, path: route.template.replace('{id}', id), expect: 405 }))
      // PATCH /v1/products/search is PATCH /v1/products/{id} with a bad id: not a wrong method.
      .filter(({ method, path }) => !all.some((r) => allows(r.method, method) && templateMatches(r.template, path)));
    const unknownPath = fc
      .tuple(
        fc.constantFrom(...methods),
        fc.constantFrom(
          '/v1/nothing',
          '/v2/orders',
          '/v1/orders/x/y/z',
          '/v1//orders',
          '/',
          '/v1/products/search/more',
        ),
        fc.oneof(
          fc.constant(''),
          badPathSegment.map((s) => `/${s}`),
        ),
      )
      .map(([method, base, tail]) => ({ method, path: base + tail, expect: 404 }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(knownPathWrongMethod, unknownPath), async ({ method, path, expect: status }) => {
        const res = await server.send({ method, path, headers: { Authorization: `Bearer ${keys.operator}` } });
        const wrong =
          answerProblem(res, method) ??
          (status === 405 && res.status !== 405 ? `status ${res.status}, not 405` : undefined) ??
          (status === 404 && res.status !== 404 ? `status ${res.status}, not 404` : undefined);
        if (wrong) throw new Error(`${wrong}: ${method} ${path.slice(0, 200)} → ${res.text.slice(0, 200)}`);
      }),
      { numRuns: RUNS_UNKNOWN_ROUTES },
    );
  }, 120_000);

  it('started no workflow on its task queue', async () => {
    const started: string[] = [];
    const query = `TaskQueue="${api.config.temporal.taskQueue}"`;
    for await (const execution of api.deps.temporal.client.workflow.list({ query })) started.push(execution.workflowId);
    expect(started).toEqual([]);
  });

  async function expectNothingWritten(c: Case, res: RawResponse): Promise<void> {
    const after = await writeModel(api.deps.db);
    const changed = Object.keys(before).filter((table) => before[table] !== after[table]);
    if (changed.length > 0) {
      throw new Error(`wrote to ${changed.join(', ')}\n${JSON.stringify(summary(c, res), null, 2)}`);
    }
  }
});

/** Every route under /v1, each with a request it takes and what of it can be made wrong. */
function routesOf(world: World): RouteSpec[] {
  const order = fc.oneof(unknownId, fc.constant('00000000-0000-0000-0000-000000000000'));
  const listQuery = badQuery(['limit', 'cursor', 'status'], {
    limit: fc.constantFrom('1', '20', '100'),
    status: fc.constantFrom('PENDING', 'PAID', 'paid'),
    cursor: fc.constantFrom('eyJ4IjoxfQ', 'not-a-cursor', 'W10'),
  });
  return [
    {
      method: 'POST',
      template: '/v1/orders',
      body: orderShape(world),
      header: {
        name: 'Idempotency-Key',
        good: fc.uuid().map((u) => `props-${u}`),
        bad: badIdempotencyKey,
      },
      reference: fc.constantFrom(
        (body) => {
          (body['items'] as { productId: string }[])[0]!.productId = randomUUID();
          return 'items.0.productId names no product';
        },
        (body) => {
          body['customerId'] = randomUUID();
          return 'customerId names no customer';
        },
      ),
      writes: true,
    },
    {
      method: 'GET',
      template: '/v1/orders/{id}',
      id: order,
      query: badQuery(['asOf'], { asOf: fc.constantFrom('1', '2026-01-01T00:00:00Z', '0', '2026-02-30') }),
      positions: 'order',
      writes: false,
    },
    {
      method: 'GET',
      template: '/v1/orders/{id}/events',
      id: order,
      query: badQuery(['after', 'limit'], { after: fc.constantFrom('0', '5'), limit: fc.constantFrom('1', '200') }),
      writes: false,
    },
    { method: 'GET', template: '/v1/orders/{id}/saga', id: order, writes: false },
    {
      method: 'POST',
      template: '/v1/orders/{id}/cancel',
      id: order,
      body: {
        valid: { reason: 'changed my mind' },
        fields: [{ path: ['reason'], invalid: notShortString(500) }],
        strictObjects: [[]],
      },
      writes: true,
    },
    {
      method: 'GET',
      template: '/v1/customers/{id}/orders',
      id: fc.constant(world.customerId),
      query: listQuery,
      positions: 'order',
      writes: false,
    },
    {
      method: 'GET',
      template: '/v1/sellers/{id}/orders',
      id: fc.constant(world.sellerId),
      query: listQuery,
      positions: 'order',
      writes: false,
    },
    {
      method: 'GET',
      template: '/v1/sellers/{id}/dashboard',
      id: fc.constant(world.sellerId),
      positions: 'product',
      writes: false,
    },
    {
      method: 'GET',
      template: '/v1/products/search',
      query: badQuery(['q', 'category', 'seller', 'priceRange', 'minRating', 'inStock', 'sort', 'limit', 'cursor'], {
        q: fc.constantFrom('lamp', '%22%27', '%E2%80%AE'),
        priceRange: fc.constantFrom('10-25', '0-10,10-25', '25-'),
        minRating: fc.constantFrom('4', '4.55', '5.0'),
        sort: fc.constantFrom('price_asc', 'rating', 'relevance'),
        cursor: fc.constantFrom('WyJwcmljZV9hc2MiLDEsIngiXQ', 'W10', '____'),
      }),
      positions: 'product',
      writes: false,
    },
    {
      method: 'POST',
      template: '/v1/products',
      body: productShape(world),
      reference: fc.constant((body) => {
        body['sellerId'] = randomUUID();
        return 'sellerId names no seller';
      }),
      writes: true,
    },
    {
      method: 'PATCH',
      template: '/v1/products/{id}',
      id: fc.constant(world.productId),
      body: productChangeShape(),
      header: {
        name: 'If-Match',
        good: fc.constantFrom('*', '"1"'),
        // A version the product is far from: 412, as sure a refusal as a malformed one.
        bad: fc.oneof(badIfMatch, fc.constantFrom('"999999"', '"123456789"')),
      },
      writes: true,
    },
    {
      method: 'POST',
      template: '/v1/products/{id}/reviews',
      id: fc.constant(world.productId),
      body: {
        valid: { customerId: world.customerId, rating: 5, body: 'Lovely' },
        fields: [
          { path: ['customerId'], invalid: notAUuid },
          { path: ['rating'], invalid: notIntIn(1, 5), required: true },
          { path: ['body'], invalid: notText(5000), required: true },
        ],
        strictObjects: [[]],
      },
      writes: true,
    },
    {
      method: 'POST',
      template: '/v1/shipments/{id}/delivered',
      id: unknownId,
      body: {
        valid: { deliveredAt: '2026-11-25T17:00:00Z' },
        fields: [
          {
            path: ['deliveredAt'],
            invalid: fc.oneof(
              notAUuid.filter((v) => typeof v !== 'string'),
              fc.constantFrom('yesterday', '2026-13-45T00:00:00Z', '2026-11-25', '2026-11-25 17:00', '1732550400'),
            ),
          },
        ],
        strictObjects: [[]],
      },
      writes: true,
    },
    {
      method: 'POST',
      template: '/v1/probes',
      body: {
        valid: { note: 'hello' },
        fields: [
          { path: ['note'], invalid: notShortString(500) },
          { path: ['probeId'], invalid: notAUuid },
        ],
        strictObjects: [[]],
      },
      writes: true,
    },
    { method: 'GET', template: '/v1/probes/{id}', id: unknownId, writes: false },
  ];
}

/** A write route's request was built to be refused: any 2xx/3xx means it was taken. */
function refusalProblem(route: RouteSpec, res: RawResponse): string | undefined {
  return route.writes && res.status < 400 ? `accepted with ${res.status}: ${res.text.slice(0, 200)}` : undefined;
}

function templateMatches(template: string, path: string): boolean {
  return new RegExp(`^${template.replace('{id}', '[^/]+')}$`).test(path);
}

function allows(routeMethod: string, method: string): boolean {
  return routeMethod === method || (routeMethod === 'GET' && method === 'HEAD');
}

function summary(c: Case, res: RawResponse) {
  return {
    route: c.route,
    role: c.role,
    defect: c.defect,
    request: short(c.request),
    response: { status: res.status, contentType: res.headers['content-type'], body: res.text.slice(0, 500) },
  };
}

function short(request: RawRequest) {
  const cut = (s: string | undefined) => (s && s.length > 300 ? `${s.slice(0, 300)}… (${s.length} chars)` : s);
  return {
    method: request.method,
    path: cut(request.path),
    headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, cut(v)])),
    body: cut(request.body),
    chunked: request.chunked,
  };
}

/** fast-check prints a counterexample with this: long strings cut short. */
function withShortDescription(c: Case): Case {
  return Object.assign(c, {
    [fc.toStringMethod]: () =>
      JSON.stringify({ route: c.route, role: c.role, defect: c.defect, request: short(c.request) }),
  });
}

/**
 * Each write-model table as its row count and a digest of its rows: equal means no row was
 * added, removed or changed. api_keys leaves out last_used_at, which authenticating updates.
 */
const WRITE_MODEL = [
  'orders',
  'order_lines',
  'products',
  'inventory',
  'product_reviews',
  'idempotency_keys',
  'domain_events',
  'outbox_events',
  'aggregate_snapshots',
  'reservations',
  'payments',
  'refunds',
  'shipments',
  'sellers',
  'customers',
  'probe_runs',
];

async function writeModel(db: Database): Promise<Record<string, string>> {
  const digest = (table: string, row: string) =>
    `(SELECT count(*) || ':' || md5(coalesce(string_agg(${row}, '|' ORDER BY ${row}), '')) FROM ${table} t) AS "${table}"`;
  const columns = [
    ...WRITE_MODEL.map((table) => digest(table, 't::text')),
    digest(
      'api_keys',
      'row(t.id, t.lookup_id, t.secret_hash, t.role, t.customer_id, t.seller_id, t.name, t.revoked_at)::text',
    ),
  ];
  const [row] = await db.$queryRawUnsafe<Record<string, string>[]>(`SELECT ${columns.join(', ')}`);
  return row!;
}

function orderShape(world: World): BodyShape {
  return {
    valid: orderRequestBody(world.customerId, [{ productId: world.productId, quantity: 1 }]),
    fields: [
      { path: ['customerId'], invalid: notAUuid },
      {
        path: ['items'],
        invalid: fc.oneof(
          fc.constantFrom<unknown>([], {}, 'items', null, [null], [[]]),
          fc
            .integer({ min: 51, max: 120 })
            .map((n) => Array.from({ length: n }, () => ({ productId: world.productId, quantity: 1 }))),
        ),
        required: true,
      },
      { path: ['items', 0, 'productId'], invalid: notAUuid, required: true },
      { path: ['items', 0, 'quantity'], invalid: notIntIn(1, 1000), required: true },
      { path: ['shippingAddress', 'recipient'], invalid: notText(200), required: true },
      { path: ['shippingAddress', 'line1'], invalid: notText(200), required: true },
      { path: ['shippingAddress', 'line2'], invalid: notText(200) },
      { path: ['shippingAddress', 'city'], invalid: notText(100), required: true },
      { path: ['shippingAddress', 'postalCode'], invalid: notText(20), required: true },
      {
        path: ['shippingAddress', 'country'],
        invalid: notMatching(/^[A-Z]{2}$/, ['gb', 'GBR', 'G1', 'ÄÖ']),
        required: true,
      },
      {
        path: ['payment', 'token'],
        invalid: notMatching(/^tok_[a-z0-9_]{1,60}$/, ['tok_', 'TOK_visa', 'tok_VISA', `tok_${'a'.repeat(61)}`]),
        required: true,
      },
      { path: ['shippingAddress'], invalid: fc.constantFrom<unknown>(null, 'GB', [], {}), required: true },
      { path: ['payment'], invalid: fc.constantFrom<unknown>(null, 'tok_visa', [], {}), required: true },
    ],
    strictObjects: [[], ['items', 0], ['shippingAddress'], ['payment']],
  };
}

function productFields() {
  return {
    name: notText(300),
    description: notShortString(5000),
    categoryPath: notMatching(/^[a-z0-9-]+(\/[a-z0-9-]+)*$/, ['Home', 'home/', '/home', 'home//x', 'hö']),
    priceMinor: notIntIn(0),
    stock: notIntIn(0, 2_147_483_647),
    active: notABoolean,
  };
}

function productShape(world: World): BodyShape {
  return {
    valid: {
      sellerId: world.sellerId,
      sku: `PROP-${randomUUID().slice(0, 8)}`,
      name: 'Property lamp',
      description: '',
      categoryPath: 'test/props',
      priceMinor: 1_000,
      currency: 'EUR',
      stock: 5,
      active: true,
    },
    fields: [
      { path: ['sellerId'], invalid: notAUuid },
      {
        path: ['sku'],
        invalid: notMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, ['-a', 'a b', 'a'.repeat(65)]),
        required: true,
      },
      { path: ['name'], invalid: productFields().name, required: true },
      { path: ['description'], invalid: productFields().description },
      { path: ['categoryPath'], invalid: productFields().categoryPath, required: true },
      { path: ['priceMinor'], invalid: productFields().priceMinor, required: true },
      {
        path: ['currency'],
        invalid: fc.constantFrom<unknown>('eur', 'EURO', '€', '', 'E', 'EU R', 1, null),
        required: true,
      },
      { path: ['stock'], invalid: productFields().stock, required: true },
      { path: ['active'], invalid: productFields().active },
    ],
    strictObjects: [[]],
  };
}

function productChangeShape(): BodyShape {
  return {
    valid: { name: 'Renamed by a property' },
    fields: Object.entries(productFields()).map(([name, invalid]) => ({ path: [name], invalid })),
    strictObjects: [[]],
  };
}
