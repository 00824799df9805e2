import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { isUuid } from '../../domain/ids';

/**
 * Bad input for property-based tests of the API (test/integration/api-properties.test.ts): values
 * that a field's schema must refuse, bodies broken in one certain way (plus noise), hostile path
 * segments, query strings and headers, and a raw HTTP client that sends them exactly as generated
 * (supertest would encode the path, fill in a content type and refuse odd header bytes).
 */

export type JsonPath = (string | number)[];

/** A body field, and values its schema refuses whatever else the body holds. */
export interface BodyField {
  path: JsonPath;
  invalid: fc.Arbitrary<unknown>;
  required?: boolean;
}

export interface BodyShape {
  /** A body the route accepts (up to references, which the test may leave pointing nowhere). */
  valid: Record<string, unknown>;
  fields: BodyField[];
  /** Objects of the schema that refuse unknown keys; [] is the body itself. */
  strictObjects: JsonPath[];
}

// --- values a schema refuses -------------------------------------------------------------------

/**
 * Latin-1 text of UTF-8 bytes: how a non-ASCII header value travels on the wire. Control
 * characters are left out: no HTTP client can send them in a header.
 */
export const wireLatin1 = (text: string): string =>
  [...Buffer.from(text, 'utf8').toString('latin1')].filter((c) => c === '\t' || (c >= ' ' && c !== '\u007f')).join('');

const nastyText = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '0x10',
  '__proto__',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '\u202e\u0301',
  '😀👩‍👩‍👧‍👦',
  '\ud800',
  '%00',
  '${jndi:ldap://x}',
);

/** Any JSON value, small or hostile (long strings, deep nesting, odd numbers). */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 4 },
  { arbitrary: nastyText, weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }), weight: 2 },
  { arbitrary: fc.constantFrom(-1, 0, 0.5, -0.000001, 2 ** 53 + 2, 1e308, -1e308, Number.MAX_SAFE_INTEGER), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 60_000 }).map((n) => 'x'.repeat(n)), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 1_500 }).map(nestedArray), weight: 1 },
);

function nestedArray(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const notAString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  fc.integer({ min: 1, max: 800 }).map(nestedArray),
);

export const notAUuid: fc.Arbitrary<unknown> = fc.oneof(
  notAString,
  fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !isUuid(s)),
  fc.uuid().map((u) => `${u} `),
  fc.uuid().map((u) => `{${u}}`),
  fc.uuid().map((u) => u.replaceAll('-', '')),
  fc.uuid().map((u) => `${u.slice(0, -1)}g`),
  nastyText,
);

/** Not text of 1..max characters after trimming: no string, blank, or too long. */
export const notText = (max: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    notAString,
    fc.constantFrom('', ' ', '\t\n', '   '),
    fc.integer({ min: max + 1, max: max + 3_000 }).map((n) => 'é'.repeat(n)),
  );

/** Not a string of at most `max` characters. */
export const notShortString = (max: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    notAString,
    fc.integer({ min: max + 1, max: max + 3_000 }).map((n) => 'y'.repeat(n)),
  );

/** Not a whole number in [min, max] (max undefined: no upper bound). */
export const notIntIn = (min: number, max?: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom(String(min), 'NaN', 'Infinity', '-Infinity', '1e3', '', '0x1F', ' 1'),
    fc.constantFrom(null, true, false, [], {}, [min], { value: min }),
    fc.integer({ min: -1_000_000, max: min - 1 }),
    fc.integer({ min, max: max ?? 1_000_000 }).map((n) => n + 0.5),
    fc.constantFrom(1e308, 2 ** 53 + 2, Number.MIN_VALUE).filter((n) => max !== undefined || !Number.isSafeInteger(n)),
    ...(max === undefined ? [] : [fc.integer({ min: max + 1, max: max + 1_000_000 })]),
  );

export const notABoolean: fc.Arbitrary<unknown> = fc.constantFrom('true', 'false', 1, 0, null, 'yes', [], {}, [true]);

/** Strings that `pattern` refuses, and things that are not strings. */
export const notMatching = (pattern: RegExp, samples: string[] = []): fc.Arbitrary<unknown> =>
  fc
    .oneof(
      notAString,
      fc.constantFrom(...samples, '', ' ', '!!', '\u0000', '😀'),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
    )
    .filter((value) => typeof value !== 'string' || !pattern.test(value));

// --- breaking a body --------------------------------------------------------------------------

export interface BodyPayload {
  /** What was broken (for the report of a failing run). */
  defect: string;
  text: string;
}

const clone = <T>(value: T): T => structuredClone(value);

function parentOf(root: unknown, path: JsonPath): Record<string | number, unknown> | undefined {
  let node = root as Record<string | number, unknown> | undefined;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[key] as Record<string | number, unknown> | undefined;
  }
  return node !== null && typeof node === 'object' ? node : undefined;
}

function setAt(root: unknown, path: JsonPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = parentOf(root, path);
  // defineProperty: `__proto__` must become a key of the JSON, not the object's prototype.
  if (parent)
    Object.defineProperty(parent, path[path.length - 1]!, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return root;
}

function removeAt(root: unknown, path: JsonPath): unknown {
  const parent = parentOf(root, path);
  if (parent) delete parent[path[path.length - 1]!];
  return root;
}

function getAt(root: unknown, path: JsonPath): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], root);
}

/** JSON that is not a JSON object, or not JSON at all: each refused whatever the route. */
export const notAJsonObject = fc.constantFrom('1', 'null', '[]', '"x"', 'true', '[{}]', '-0', '1e999', '[null]');
export const malformedJson = fc.oneof(
  fc.constantFrom(
    '{',
    '{"a":',
    "{'a': 1}",
    '{"a": 1,}',
    '{"a": NaN}',
    '{"a": undefined}',
    '{a: 1}',
    '{"a": 1} {"b": 2}',
    '{"a": 01}',
    '{"a": "\u0000"}',
    '{"a": "\\x41"}',
    '/* c */ {}',
    'nul',
    '{"a": 1e}',
    '"unterminated',
  ),
  fc.integer({ min: 1, max: 40_000 }).map((n) => '['.repeat(n)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return s.trim() !== '';
    }
  }),
);
/** Valid JSON nested deeper than any schema looks: an array, or objects with keys no schema knows. */
export const deeplyNested = fc.oneof(
  fc.integer({ min: 100, max: 40_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 100, max: 15_000 }).map((n) => '{"zz":'.repeat(n) + '1' + '}'.repeat(n)),
);

const unknownKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'ID', '$where'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((s) => `x_${s}`),
);

/** Noise: up to two fields set to anything (valid or not). */
function noisyBody(shape: BodyShape): fc.Arbitrary<{ body: unknown; noise: string[] }> {
  return fc
    .array(fc.tuple(fc.constantFrom(...shape.fields.map((f) => f.path)), anyJson), { maxLength: 2 })
    .map((changes) => {
      const body = clone(shape.valid);
      for (const [path, value] of changes) setAt(body, path, value);
      return { body, noise: changes.map(([path]) => path.join('.')) };
    });
}

/**
 * A body of the route that its schema certainly refuses: noise first, then one defect that no
 * noise can undo. The text is what goes on the wire.
 */
export function brokenBody(shape: BodyShape): fc.Arbitrary<BodyPayload> {
  const required = shape.fields.filter((f) => f.required);
  const defects: fc.Arbitrary<(body: unknown) => { body: unknown; defect: string } | string>[] = [
    fc.constantFrom(...shape.fields).chain((field) =>
      field.invalid.map((value) => (body: unknown) => ({
        body: setAt(body, field.path, value),
        defect: `${field.path.join('.')} = ${preview(value)}`,
      })),
    ),
    fc.constantFrom(...shape.strictObjects).chain((path) =>
      fc.tuple(unknownKey, anyJson).map(([key, value]) => (body: unknown) => {
        const target = getAt(body, path);
        if (target === null || typeof target !== 'object' || Array.isArray(target)) {
          return { body: setAt(body, path, { [`x_${key}`]: value }), defect: `unknown key in ${path.join('.')}` };
        }
        setAt(body, [...path, key], value);
        return { body, defect: `unknown key ${JSON.stringify(key)} in ${path.join('.') || 'body'}` };
      }),
    ),
    fc.constantFrom(...shape.strictObjects).chain((path) =>
      fc.constantFrom<unknown>([], [{}], 1, 'x', null, true).map((value) => (body: unknown) => ({
        body: setAt(body, path, value),
        defect: `${path.join('.') || 'body'} = ${JSON.stringify(value)}`,
      })),
    ),
    notAJsonObject.map((text) => () => text),
    malformedJson.map((text) => () => text),
    deeplyNested.map((text) => () => text),
  ];
  if (required.length > 0) {
    defects.push(
      fc.constantFrom(...required).map((field) => (body: unknown) => ({
        body: removeAt(body, field.path),
        defect: `${field.path.join('.')} missing`,
      })),
    );
  }
  return fc.tuple(noisyBody(shape), fc.oneof(...defects)).map(([{ body, noise }, defect]) => {
    const broken = defect(body);
    if (typeof broken === 'string') return { defect: `raw body ${preview(broken)}`, text: broken };
    return {
      defect: [broken.defect, ...noise.map((n) => `noise ${n}`)].join('; '),
      text: JSON.stringify(broken.body) ?? 'null',
    };
  });
}

/** A body that may or may not be acceptable: for routes whose other defects make the request fail. */
export function anyBody(shape: BodyShape): fc.Arbitrary<BodyPayload> {
  return fc.oneof(
    { arbitrary: brokenBody(shape), weight: 3 },
    {
      arbitrary: noisyBody(shape).map(({ body, noise }) => ({
        defect: noise.length ? `noise ${noise.join(', ')}` : 'valid body',
        text: JSON.stringify(body),
      })),
      weight: 1,
    },
  );
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 60)}… (${text.length} chars)` : text;
}

// --- paths, query strings and headers ---------------------------------------------------------

/** A path segment as sent on the wire where a UUID belongs: never a UUID. */
export const badPathSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '%00',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    '%ZZ',
    '%',
    '%E0%A4%A',
    '%C0%AF',
    '123',
    '-1',
    'null',
    'undefined',
    '%20',
    'NaN',
    '%7B%7D',
    "'%20OR%201=1--",
    '%F0%9F%98%80',
  ),
  fc.uuid().map((u) => `${u}%00`),
  fc.uuid().map((u) => `%7B${u}%7D`),
  fc.uuid().map((u) => u.replaceAll('-', '')),
  fc.uuid().map((u) => `${u}x`),
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 60 })
    .filter((s) => !isUuid(s))
    .map(encodeURIComponent),
  fc.integer({ min: 37, max: 4_000 }).map((n) => 'a'.repeat(n)),
);

/** A UUID no row has: a reference to nothing. */
export const unknownId = fc.uuid();

const queryValue = fc.oneof(
  fc.constantFrom('', '1', '0', '-1', '1.5', '1e3', '100', '101', 'NaN', 'Infinity', '%ZZ', '%00', 'true', '%20'),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
  fc.integer({ min: 100, max: 3_000 }).map((n) => 'q'.repeat(n)),
);

/**
 * A query string: known parameters with good or bad values, repeated (`limit=1&limit=2`), as
 * arrays or objects (`limit[]=1`, `limit[a]=1`), and keys nobody knows.
 */
export function badQuery(known: string[], good: Record<string, fc.Arbitrary<string>> = {}): fc.Arbitrary<string> {
  const key = fc.oneof(
    { arbitrary: fc.constantFrom(...known, 'unknown'), weight: 4 },
    { arbitrary: fc.constantFrom(...known).map((k) => `${k}[]`), weight: 1 },
    { arbitrary: fc.constantFrom(...known).map((k) => `${k}[a]`), weight: 1 },
    { arbitrary: fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', '', '%00', '%ZZ'), weight: 1 },
  );
  const pair = key.chain((k) => {
    const value = Object.hasOwn(good, k) ? fc.oneof(good[k]!, queryValue) : queryValue;
    return value.map((v) => `${k}=${v}`);
  });
  return fc.oneof(
    fc.array(pair, { minLength: 1, maxLength: 4 }).map((pairs) => `?${pairs.join('&')}`),
    fc.constantFrom(...known).map((k) => `?${k}=1&${k}=2`),
    fc.constantFrom('?', '?&&', '?=', '?=x', '?a', '?%', '?a=1&a[]=2'),
  );
}

export const badIdempotencyKey = fc.oneof(
  fc.constantFrom('', ' ', 'has space', 'a/b', 'a+b', 'ä', wireLatin1('ключ'), wireLatin1('😀'), '\t'),
  fc.integer({ min: 256, max: 4_000 }).map((n) => 'k'.repeat(n)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((s) => wireLatin1(`${s}~`)),
);

export const badIfMatch = fc.oneof(
  fc.constantFrom('', 'garbage', '"', '""', '"-1"', '"1.5"', '"9999999999"', 'W/"1"', '"1", "2"', '1', '"a"', '**'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).filter((s) => !/^\s*("\d{1,9}"|\*)\s*$/.test(s)),
);

export const badMinPosition = fc.oneof(
  fc.constantFrom(
    '',
    ',',
    'garbage',
    'product',
    'order:x:1',
    'order::1',
    'ORDER:00000000-0000-4000-8000-000000000000:1',
  ),
  fc.uuid().map((u) => `order:${u}:0`),
  fc.uuid().map((u) => `order:${u}:-1`),
  fc.uuid().map((u) => `order:${u}:1e3`),
  fc.uuid().map((u) => `nosuchaggregate:${u}:1`),
  fc.uuid().map((u) => Array.from({ length: 21 }, () => `order:${u}:1`).join(',')),
  fc.string({ unit: 'grapheme', maxLength: 60 }).map(wireLatin1),
);

/** A well-formed position of an aggregate nobody wrote: the read waits, then answers as it can. */
export const unreachedPosition = (aggregateType: string): fc.Arbitrary<string> =>
  fc.uuid().map((u) => `${aggregateType}:${u}:${1 + (u.charCodeAt(0) % 9)}`);

/** Content types that are not JSON (415 when a body comes with them). */
export const notJsonContentType = fc.constantFrom(
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/problem+json',
  'application/merge-patch+json',
  'application/xml',
  'application/json; charset=latin1',
  'application/json; charset=iso-8859-1',
  'application/json; charset=nonsense',
  'garbage',
  '/',
);
/** Content types a JSON body might be sent with, good or odd. */
export const someContentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;charset=UTF-8',
  'application/json; charset=utf-16',
  'application/json; charset=',
  'application/json; boundary=x',
  'application/json;;',
);

export const someContentEncoding = fc.constantFrom('identity', 'gzip', 'deflate', 'br', 'x-nonsense', 'gzip, gzip');

export const badAuthorization = fc.oneof(
  fc.constantFrom('', 'Bearer', 'Bearer ', 'Bearer  ', 'Basic dXNlcjpwYXNz', 'bearer x', 'Token abc', 'Bearer a b'),
  fc.string({ unit: 'grapheme', maxLength: 80 }).map((s) => wireLatin1(`Bearer ${s}`)),
  fc.integer({ min: 100, max: 6_000 }).map((n) => `Bearer ${'z'.repeat(n)}`),
);

// --- sending ----------------------------------------------------------------------------------

export interface RawRequest {
  method: string;
  /** Path and query exactly as they go on the wire. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A server for `listener` on a free local port, with a client that sends requests byte for byte. */
export async function rawServer(listener: http.RequestListener): Promise<{
  send(request: RawRequest): Promise<RawResponse>;
  close(): Promise<void>;
}> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    send: (request) =>
      new Promise((resolve, reject) => {
        const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
        const headers: Record<string, string | number> = { ...request.headers };
        // Explicitly: Node's client frames no body of a GET unless told, and the server would read it as the next request.
        if (body)
          headers[request.chunked ? 'Transfer-Encoding' : 'Content-Length'] = request.chunked ? 'chunked' : body.length;
        const req = http.request({
          host: '127.0.0.1',
          port,
          agent,
          method: request.method,
          path: request.path,
          headers,
        });
        req.on('error', reject);
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        });
        req.end(body);
      }),
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// --- what every answer must be ----------------------------------------------------------------

const FIELD = /^(body|query|path|header)(\..*)?$/;
const STACK = /\n\s+at |\bat .+:\d+:\d+|\.ts:\d+|node_modules/;

/**
 * Why `res` is not an acceptable answer to hostile input, or undefined when it is: never a 5xx;
 * every error problem+json whose `status` is the HTTP status; field problems name where the bad
 * field was; 401 says how to authenticate, 405 what is allowed; never a stack trace.
 */
export function answerProblem(res: RawResponse, method: string): string | undefined {
  if (res.status >= 500) return `status ${res.status}: ${res.text.slice(0, 300)}`;
  if (res.status < 400) return undefined;
  const contentType = res.headers['content-type'] ?? '';
  if (!contentType.startsWith('application/problem+json')) return `content-type ${contentType} on ${res.status}`;
  if (res.status === 405 && !res.headers['allow']) return '405 without Allow';
  if (res.status === 401 && !res.headers['www-authenticate']) return '401 without WWW-Authenticate';
  if (method === 'HEAD') return undefined;
  if (STACK.test(res.text)) return `stack trace in body: ${res.text.slice(0, 300)}`;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    return `body is not JSON: ${res.text.slice(0, 100)}`;
  }
  if (body['status'] !== res.status) return `body status ${String(body['status'])} on HTTP ${res.status}`;
  if (typeof body['title'] !== 'string' || body['title'] === '') return 'no title';
  if (typeof body['type'] !== 'string' || !body['type'].startsWith('https://shopflow.dev/problems/')) {
    return `type ${String(body['type'])}`;
  }
  const errors = body['errors'];
  if (body['type'].endsWith('/validation-error') && (!Array.isArray(errors) || errors.length === 0)) {
    return 'validation error without field errors';
  }
  if (errors !== undefined) {
    if (!Array.isArray(errors) || errors.length === 0) return `errors is ${JSON.stringify(errors)}`;
    for (const e of errors as { field?: unknown; message?: unknown }[]) {
      if (typeof e.field !== 'string' || !FIELD.test(e.field)) return `field ${JSON.stringify(e.field)}`;
      if (typeof e.message !== 'string' || e.message === '') return `field ${e.field} without message`;
    }
  }
  return undefined;
}
