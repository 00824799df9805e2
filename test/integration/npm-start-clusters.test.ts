import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApiKey } from '../../access/api-keys';
import { eventStreamName } from '../../events/outbox-relay';
import { createDatabase, type Database } from '../../platform/database';
import { createRedis, openRedis } from '../../platform/redis';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import { freeStartPorts, startPlatform, startSettings } from '../support/npm-start';
import { eventually, testConfig } from '../support/platform';
import type { LongRunning } from '../support/processes';
import { startTestRedisCluster, type TestRedisCluster } from '../support/redis-cluster';

/**
 * `npm start` on distributed engines, as an operator runs it (issue 18): TEMPORAL_ADDRESS names the
 * Temporal cluster the cluster profile started (`npm run test:cluster`), REDIS_CLUSTER_NODES a Redis
 * Cluster of this test's own. npm start starts no dev server then, and every process it runs (API,
 * worker, relay, projector, codec server) uses both clusters: an order placed over HTTP is recorded,
 * projected from the Redis Cluster's streams, delivered and read back DELIVERED. Skipped in the
 * default profile, whose Temporal is the dev server.
 */
const onTemporalCluster = process.env['SHOPFLOW_TEST_CLUSTER_DIR'] ? describe : describe.skip;

onTemporalCluster('npm start against a Temporal cluster and a Redis Cluster', () => {
  let redisCluster: TestRedisCluster;
  let dataDir: string;
  let db: Database;
  let run: LongRunning | undefined;

  beforeAll(async () => {
    redisCluster = await startTestRedisCluster();
    dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-start-clusters-'));
    db = createDatabase(testConfig());
  }, 60_000);
  afterAll(async () => {
    if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
    await db?.$disconnect();
    await redisCluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs every process on both clusters: an order placed over HTTP ends DELIVERED, its events in the cluster’s streams', async () => {
    const ports = await freeStartPorts();
    const temporalAddress = process.env['TEMPORAL_ADDRESS']!;
    run = startPlatform({
      ...startSettings(ports, dataDir, `npm-start-clusters-${randomUUID().slice(0, 8)}`),
      TEMPORAL_ADDRESS: temporalAddress,
      DATABASE_URL: process.env['DATABASE_URL']!,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_CLUSTER_NODES: redisCluster.state.seeds,
    });
    await run.waitForOutput('Press Ctrl-C to stop.', 120_000);
    const output = run.output();
    expect(output).toContain('using the running Temporal server');
    expect(output).toContain(`Temporal      ${temporalAddress}`);
    expect(output).toContain(redisCluster.state.seeds.split(',')[0]!);
    expect(output).not.toContain('starting the Temporal dev server');

    const api = `http://127.0.0.1:${ports.api}`;
    const { key } = await createApiKey(db, { role: 'operator', name: 'npm start on clusters' });
    const customer = await createCustomer(db);
    const { products } = await createSellerWithProducts(db, [{ stock: 5 }]);
    const call = (method: string, pathname: string, body?: unknown) =>
      fetch(`${api}${pathname}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          ...(method === 'POST' ? { 'idempotency-key': `clusters-${randomUUID()}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    const placed = await call(
      'POST',
      '/v1/orders',
      orderRequestBody(customer.id, [{ productId: products[0]!.id, quantity: 1 }]),
    );
    expect(placed.status).toBe(202);
    const { orderId } = (await placed.json()) as { orderId: string };
    const readOrder = async () =>
      (await (await call('GET', `/v1/orders/${orderId}`)).json()) as Record<string, unknown>;
    // Read from the read model once the projector has it (Shopflow-Consistency absent), SHIPPED.
    const shipped = await eventually(async () => {
      const res = await call('GET', `/v1/orders/${orderId}`);
      const body = (await res.json()) as { status: string; shipments: { shipmentId: string }[] };
      return body.status === 'SHIPPED' && res.headers.get('shopflow-consistency') !== 'fallback' ? body : undefined;
    }, 90_000);
    const delivered = await call('POST', `/v1/shipments/${shipped.shipments[0]!.shipmentId}/delivered`, {});
    expect(delivered.status).toBe(202);
    await eventually(async () => ((await readOrder())['status'] === 'DELIVERED' ? true : undefined), 90_000);

    // The relay published the order's events to the Redis Cluster's stream.
    const redis = createRedis(testConfig({ REDIS_CLUSTER_NODES: redisCluster.state.seeds }), 'npm-start-clusters-test');
    await openRedis(redis);
    try {
      expect(await redis.xlen(eventStreamName('order'))).toBeGreaterThanOrEqual(5);
    } finally {
      redis.disconnect();
    }

    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 0, signal: null });
  }, 300_000);
});
