import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from '../../api/openapi/document';

/**
 * Holds every response the app sends to the OpenAPI document: its status must be documented for
 * the operation, its content type must be one of that response's, its body must validate against
 * the response's JSON Schema (Ajv, draft 2020-12, as OpenAPI 3.1 uses), and the headers the
 * response marks required must be there. Requests that match no operation may only get the
 * pipeline's answers to them (401, 404, 405, 429, 503, and 400, 413, 415 for a body it cannot read).
 *
 * Wrap the app, run the suite, then assert `violations()` is empty.
 */

export interface ContractCheck<App extends RequestListener = RequestListener> {
  handler: App;
  violations(): string[];
  /** How many responses were checked: a check that saw none proves nothing. */
  checked(): number;
}

const DOC_ID = 'https://shopflow.dev/openapi.json';
const UNMATCHED_STATUSES = ['400', '401', '404', '405', '413', '415', '429', '503'];

interface ResponseObject {
  $ref?: string;
  headers?: Record<string, { required?: boolean; schema?: object; $ref?: string }>;
  content?: Record<string, { schema?: object }>;
}

interface Operation {
  responses: Record<string, ResponseObject>;
}

interface Template {
  path: string;
  pattern: RegExp;
  params: number;
}

const pointer = (...segments: string[]): string =>
  '#/' + segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * `handler` is `app` behind a Proxy: it answers the same requests (with each response checked) and
 * still has the app's own properties, so an Express app stays an Express app (its router can be walked).
 */
export function contractChecked<App extends RequestListener>(app: App, document: OpenApiDocument): ContractCheck<App> {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // The whole document as one schema resource, so the components' $refs resolve from anywhere in it.
  ajv.addSchema({ $id: DOC_ID, paths: document.paths, components: document.components });
  const validators = new Map<string, ValidateFunction>();
  const validatorAt = (at: string): ValidateFunction => {
    let validate = validators.get(at);
    if (!validate) validators.set(at, (validate = ajv.compile({ $ref: DOC_ID + at })));
    return validate;
  };

  const templates: Template[] = Object.keys(document.paths ?? {})
    .map((path) => ({
      path,
      // As express matches: case-insensitive, with or without a trailing slash.
      pattern: new RegExp('^' + path.replace(/\{[^}]+\}/g, '[^/]+') + '/?$', 'i'),
      params: (path.match(/\{/g) ?? []).length,
    }))
    // A literal segment wins over a parameter: /v1/products/search is not /v1/products/{productId}.
    .sort((a, b) => a.params - b.params);

  const found: string[] = [];
  let checked = 0;

  function check(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    // Not new URL(): a path such as //x would be read as a host.
    const [pathname = '/', search] = (req.url ?? '/').split(/\?(.*)/s);
    const url = { pathname, search: search === undefined ? '' : `?${search}` };
    const method = (req.method ?? 'GET').toLowerCase();
    const opMethod = method === 'head' ? 'get' : method;
    const status = String(res.statusCode);
    const where = `${req.method} ${url.pathname}${url.search} → ${status}`;
    const problems: string[] = [];

    const template = templates.find((t) => t.pattern.test(url.pathname) && pathItem(t.path)?.[opMethod]);
    let responseAt: string;
    if (template) {
      const operation = pathItem(template.path)![opMethod]!;
      const key = documentedStatus(operation, status);
      if (key === undefined) {
        found.push(`${where}: status ${status} is not documented for ${opMethod.toUpperCase()} ${template.path}`);
        return;
      }
      responseAt = pointer('paths', template.path, opMethod, 'responses', key);
    } else {
      if (!UNMATCHED_STATUSES.includes(status)) {
        found.push(`${where}: no operation matches, and ${status} is not an answer to an unknown route`);
        return;
      }
      responseAt = pointer('components', 'responses', `Problem${status}`);
    }
    // Follow a response $ref to the component it names.
    const resolved = resolve(responseAt);
    if (!resolved) {
      found.push(`${where}: the document has no response at ${responseAt}`);
      return;
    }
    const [response, at] = resolved;

    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = res.getHeader(name);
      if (value === undefined) {
        if (header.required) problems.push(`required header ${name} is missing`);
        continue;
      }
      if (header.schema) {
        const validate = validatorAt(`${at}/headers/${pointer(name).slice(2)}/schema`);
        if (!validate(String(value))) problems.push(`header ${name}: ${ajv.errorsText(validate.errors)}`);
      }
    }

    const contentType = String(res.getHeader('content-type') ?? '')
      .split(';')[0]!
      .trim();
    const media = Object.keys(response.content ?? {});
    const hasBody = method !== 'head' && body.length > 0;
    if (!hasBody) {
      if (media.length > 0 && method !== 'head' && status !== '304') problems.push('the body is empty');
    } else if (!media.includes(contentType)) {
      problems.push(`content type '${contentType}' is not one of ${media.join(', ') || 'none (no body)'}`);
    } else if (/json$/.test(contentType)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        problems.push('the body is not JSON');
      }
      const validate = validatorAt(`${at}/content/${pointer(contentType).slice(2)}/schema`);
      if (parsed !== undefined && !validate(parsed)) {
        problems.push(`body: ${ajv.errorsText(validate.errors, { dataVar: 'body', separator: '; ' })}`);
      }
    }
    for (const problem of problems) found.push(`${where}: ${problem}`);
  }

  const pathItem = (path: string) =>
    (document.paths as Record<string, Record<string, Operation | undefined>> | undefined)?.[path];

  function resolve(at: string): [ResponseObject, string] | undefined {
    let value: unknown = document;
    for (const segment of at.slice(2).split('/')) {
      value = (value as Record<string, unknown> | undefined)?.[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    const response = value as ResponseObject | undefined;
    if (response?.$ref) return resolve(response.$ref);
    return response ? [response, at] : undefined;
  }

  return {
    handler: new Proxy(app, {
      apply(target, thisArg, args: Parameters<RequestListener>) {
        const [req, res] = args;
        const chunks: Buffer[] = [];
        const collect = (chunk: unknown, encoding?: unknown): void => {
          if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
          chunks.push(
            Buffer.isBuffer(chunk)
              ? chunk
              : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
          );
        };
        const write = res.write.bind(res) as (...args: unknown[]) => boolean;
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        res.write = ((chunk: unknown, ...rest: unknown[]) => {
          collect(chunk, rest[0]);
          return write(chunk, ...rest);
        }) as typeof res.write;
        res.end = ((chunk?: unknown, ...rest: unknown[]) => {
          collect(chunk, rest[0]);
          return end(chunk, ...rest);
        }) as typeof res.end;
        res.once('finish', () => {
          checked++;
          try {
            check(req, res, Buffer.concat(chunks));
          } catch (error) {
            found.push(`${req.method} ${req.url}: the contract check failed: ${String(error)}`);
          }
        });
        return Reflect.apply(target, thisArg, args) as unknown;
      },
    }),
    violations: () => [...found],
    checked: () => checked,
  };
}

/** The documented response for a status: exact, then its range (4XX), then default. */
function documentedStatus(operation: Operation, status: string): string | undefined {
  const responses = operation.responses;
  if (status in responses) return status;
  if (`${status[0]}XX` in responses) return `${status[0]}XX`;
  return 'default' in responses ? 'default' : undefined;
}
