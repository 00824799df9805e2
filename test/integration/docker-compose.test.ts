import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isMap, isScalar, parse, parseDocument, type Document } from 'yaml';
import { configDefaults } from '../../lib/config';
import { allMetricNames, temporalSdkMetricNames } from '../../lib/metrics';
import { searchAttributeArgs } from '../../lib/temporal-dev-server';
import { shopflowSearchAttributes } from '../../workflows/search-attributes';
import { repoRoot } from '../support/processes';

/**
 * docker-compose.yml cannot be started here (no Docker engine), so it is checked two ways:
 * Debian's docker-compose v1 validates it against the Compose schema (and is shown to reject
 * broken copies, so a green run means something), and the parsed file is held to what
 * shopflow needs: health checks, start order, Temporal on PostgreSQL, only known settings,
 * and the search attributes of workflows/search-attributes.ts.
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
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// `merge: true`: the app services share one block through `<<: *shopflow-app`, as Compose reads it.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = compose.services;

function dockerCompose(file: string) {
  const result = spawnSync('docker-compose', ['-f', file, 'config', '-q'], {
    cwd: path.dirname(file),
    encoding: 'utf8',
    timeout: 30_000,
  });
  const missing = (result.error as { code?: unknown } | undefined)?.code === 'ENOENT';
  if (missing) {
    throw new Error(
      'docker-compose is not installed: this test validates docker-compose.yml with it. ' +
        'Install it with `apt-get install -y docker-compose` (Debian; validation only, no engine needed).',
    );
  }
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Writes a changed copy of the compose file to a temp dir and validates it. */
function validateMutated(mutate: (doc: Document) => void) {
  const doc = parseDocument(composeText);
  const before = doc.toString();
  mutate(doc);
  const after = doc.toString();
  expect(after).not.toBe(before); // the mutation really changed something
  const file = path.join(scratch, `mutated-${++mutations}.yml`);
  writeFileSync(file, after);
  return dockerCompose(file);
}

let scratch: string;
let mutations = 0;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'shopflow-compose-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

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

describe('docker-compose.yml against the Compose schema (docker-compose v1)', () => {
  it('is valid: exit 0, nothing on stderr', () => {
    const result = dockerCompose(composePath);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('an unchanged copy in a temp dir is valid too (so the failures below come from the changes)', () => {
    const file = path.join(scratch, 'unchanged.yml');
    writeFileSync(file, composeText);
    const result = dockerCompose(file);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('rejects a misspelt key (healthchek on redis)', () => {
    const result = validateMutated((doc) => {
      const redis = doc.getIn(['services', 'redis']);
      if (!isMap(redis)) throw new Error('services.redis is not a mapping');
      const pair = redis.items.find((item) => isScalar(item.key) && item.key.value === 'healthcheck');
      if (!pair || !isScalar(pair.key)) throw new Error('services.redis has no healthcheck');
      pair.key.value = 'healthchek';
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/services\.redis.*healthchek/);
  });

  it('rejects a bad depends_on condition (service_happy)', () => {
    const result = validateMutated((doc) =>
      doc.setIn(['services', 'api', 'depends_on', 'redis', 'condition'], 'service_happy'),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/services\.api\.depends_on\.redis\.condition.*service_happy/);
  });

  it('rejects an unknown top-level key', () => {
    const result = validateMutated((doc) => doc.set('servicez', { extra: { image: 'redis:7-alpine' } }));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/servicez/);
  });

  it('rejects a top-level `name:` (why the file has none)', () => {
    const result = validateMutated((doc) => doc.set('name', 'shopflow'));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/'name'/);
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
    expect(composeText).not.toMatch(/^name:/m);
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
    expect(dependsOn(services['migrate']!)).toEqual({ postgres: 'service_healthy' });
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

  it('sets only variables lib/config.ts knows on the app services, pointing at the compose services', () => {
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

  it('registers every search attribute of workflows/search-attributes.ts with its type', () => {
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
        `api:${api['PORT']}/metrics`,
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

  it('queries only metrics that lib/metrics.ts defines (or the Temporal SDK metrics it lists)', () => {
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
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim$/m);
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
