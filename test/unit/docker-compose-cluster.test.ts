import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CLUSTER_SERVICES } from '../../dev/temporal-cluster';
import { shopflowSearchAttributes } from '../../workflows/orders/search-attributes';
import { composeErrors, describeErrors } from '../support/compose-schema';
import { repoRoot } from '../support/processes';

/**
 * docker-compose.cluster.yml, used on top of docker-compose.yml, runs Temporal's services as
 * containers of their own from the cluster's config file. No Docker engine here: it is validated
 * against the Compose Specification's schema as docker-compose.yml is (test/support/compose-schema.ts),
 * and held to what the cluster needs.
 */

interface Service {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }>;
  volumes?: string[];
  healthcheck?: { test?: string[] };
}

const read = (file: string): string => readFileSync(path.join(repoRoot, file), 'utf8');
const clusterText = read('docker-compose.cluster.yml');
const cluster = parse(clusterText, { merge: true }) as { services: Record<string, Service> };
const base = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const template = read('ops/temporal-cluster/development.yaml');

const serviceRunning = (name: string): [string, Service] | undefined =>
  Object.entries(cluster.services).find(([, s]) => (s.command ?? []).join(' ').includes(`--service ${name}`));

describe('docker-compose.cluster.yml', () => {
  it('is valid against the Compose Specification schema: zero errors', () => {
    expect(describeErrors(composeErrors(cluster))).toEqual([]);
  });

  it('runs each of the four services once, from the cluster config file, under the image of the pinned server', () => {
    for (const name of CLUSTER_SERVICES) {
      const found = serviceRunning(name);
      expect(found).toBeDefined();
      const [, service] = found!;
      expect(service.image).toBe('temporalio/server:1.29.1');
      expect(service.volumes).toContain(
        './ops/temporal-cluster/development.yaml:/etc/temporal/config/shopflow/development.yaml:ro',
      );
      expect(service.command!.join(' ')).toContain('--config config/shopflow --env development');
    }
    // The frontend takes the name the rest of docker-compose.yml connects to.
    expect(serviceRunning('frontend')![0]).toBe('temporal');
    expect(base.services['worker']!.environment!['TEMPORAL_ADDRESS']).toBe('temporal:7233');
  });

  it('sets every variable the config file reads without a default', () => {
    const required = [...template.matchAll(/\{\{\s*env "([A-Z_]+)"/g)].map((m) => m[1]!);
    const env = serviceRunning('history')![1].environment!;
    expect(required.length).toBeGreaterThan(10);
    for (const name of required) expect(Object.keys(env)).toContain(name);
  });

  it('starts them one after the other behind the schema job, as `npm run cluster` does', () => {
    const after = (name: string): Record<string, string | undefined> =>
      Object.fromEntries(
        Object.entries(serviceRunning(name)![1].depends_on ?? {}).map(([dep, d]) => [dep, d.condition]),
      );
    expect(after('history')).toEqual({ 'temporal-schema': 'service_completed_successfully' });
    expect(after('matching')).toEqual({ 'temporal-history': 'service_healthy' });
    expect(after('frontend')).toEqual({ 'temporal-matching': 'service_healthy' });
    expect(after('worker')).toEqual({ temporal: 'service_healthy' });
    for (const name of ['temporal-history', 'temporal-matching', 'temporal'])
      expect(cluster.services[name]!.healthcheck?.test).toBeDefined();
  });

  it('registers the namespace and the search attributes of workflows/orders/search-attributes.ts', () => {
    const setup = cluster.services['temporal-setup']!.command!.join('\n');
    expect(setup).toContain('temporal operator namespace create');
    const registered = [...setup.matchAll(/^\s*register (\w+) (\w+)$/gm)].map((m) => m[1]);
    expect(registered.sort()).toEqual(shopflowSearchAttributes.map((key) => key.name).sort());
  });
});
