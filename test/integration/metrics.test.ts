import { randomUUID } from 'node:crypto';
import pino from 'pino';
import request from 'supertest';
import { orderWorkflowId } from '../../domain/ids';
import { metricNames as m, temporalSdkMetricNames } from '../../platform/metrics';
import { startMetricsServer, type MetricsServer } from '../../platform/metrics-server';
import { installTemporalRuntime } from '../../platform/temporal-logger';
import { orderStateQuery } from '../../workflows/orders/order-contract';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import {
  eventually,
  startApi,
  startWorker,
  testConfig,
  type RunningWorker,
  type TestPlatform,
} from '../support/platform';
import { freePort } from '../support/processes';
import { delta, Scrape } from '../support/prometheus';

/**
 * What an operator's Prometheus sees: real orders run end to end, and the API's and the worker's
 * `/metrics` move by exactly what happened, no more.
 */
describe('metrics after real orders', () => {
  let api: TestPlatform;
  let worker: RunningWorker;
  let workerMetrics: MetricsServer;

  beforeAll(async () => {
    const config = testConfig();
    // As the worker process does: the SDK's exporter on a loopback port, served through ours.
    const sdkPort = await freePort();
    installTemporalRuntime(pino({ level: config.log.level }), { prometheusBindAddress: `127.0.0.1:${sdkPort}` });
    api = await startApi(config);
    worker = await startWorker(config);
    workerMetrics = await startMetricsServer({
      registry: worker.metrics.registry,
      host: '127.0.0.1',
      port: 0,
      sdkMetricsUrl: `http://127.0.0.1:${sdkPort}/metrics`,
    });
  });
  afterAll(async () => {
    await workerMetrics?.close();
    await worker?.stop();
    await api?.close();
  });

  async function scrapeApi(): Promise<Scrape> {
    return new Scrape(await api.scrapeMetrics());
  }
  async function scrapeWorker(): Promise<Scrape> {
    const res = await fetch(workerMetrics.url);
    expect(res.status).toBe(200);
    return new Scrape(await res.text());
  }

  const submit = (body: object, key: string) =>
    request(api.app).post('/v1/orders').set('Idempotency-Key', key).send(body).expect(202);

  it('counts one shipped and one declined order, the compensation, the failure and a replay', async () => {
    const seller = await createSellerWithProducts(api.deps.db, [{ priceMinor: 1200, stock: 10 }]);
    const customer = await createCustomer(api.deps.db);
    const items = [{ productId: seller.products[0]!.id, quantity: 1 }];
    const apiBefore = await scrapeApi();
    const workerBefore = await scrapeWorker();

    // Given an order that ships and one whose payment is declined...
    const shippedBody = orderRequestBody(customer.id, items);
    const shippedKey = `metrics-${randomUUID()}`;
    const shipped = (await submit(shippedBody, shippedKey)).body as { orderId: string };
    const declined = (
      await submit(
        orderRequestBody(customer.id, items, { payment: { token: 'tok_declined' } }),
        `metrics-${randomUUID()}`,
      )
    ).body as { orderId: string };

    // ...run to their ends (the workflow saw every activity finish, so the worker counted it)...
    const client = api.deps.temporal.client;
    const failed = await client.workflow.getHandle(orderWorkflowId(declined.orderId)).result();
    expect(failed).toMatchObject({ status: 'FAILED', compensations: [{ name: 'release-inventory', outcome: 'done' }] });
    await eventually(async () => {
      const state = await client.workflow.getHandle(orderWorkflowId(shipped.orderId)).query(orderStateQuery);
      return state.step === 'await-delivery' ? state : undefined;
    });
    // ...and a client retries the first submission with the same key.
    const replay = await submit(shippedBody, shippedKey);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    await request(api.app).get(`/v1/orders/${shipped.orderId}`).expect(200);

    const apiAfter = await scrapeApi();
    const workerAfter = await scrapeWorker();
    const apiDelta = (name: string, labels: Record<string, string> = {}) => delta(apiBefore, apiAfter, name, labels);
    const workerDelta = (name: string, labels: Record<string, string> = {}) =>
      delta(workerBefore, workerAfter, name, labels);

    // The API: two orders started, one replay, three 202s on the route pattern (two firsts and the replay).
    expect(apiDelta(m.ordersSubmitted)).toBe(2);
    expect(apiDelta(m.idempotentReplays, { scope: 'POST /v1/orders' })).toBe(1);
    const posts = { method: 'POST', route: '/v1/orders', status: '202' };
    expect(apiDelta(`${m.httpRequestDuration}_count`, posts)).toBe(3);
    expect(apiDelta(`${m.httpRequestDuration}_count`, { route: '/v1/orders/:orderId', status: '200' })).toBe(1);
    // Route labels are patterns: no order id ever becomes a label value.
    const routes = apiAfter.matching(`${m.httpRequestDuration}_count`).map((s) => s.labels['route']);
    expect(routes.filter((route) => route?.includes(shipped.orderId))).toEqual([]);

    // The worker: one FAILED order (the shipped one is not final yet), its compensation and its failure.
    expect(workerDelta(m.ordersCompleted, { status: 'FAILED' })).toBe(1);
    expect(workerDelta(m.ordersCompleted)).toBe(1);
    expect(workerDelta(m.sagaCompensations, { step: 'release-inventory', outcome: 'done' })).toBe(1);
    expect(workerDelta(m.sagaCompensations)).toBe(1);
    expect(workerDelta(m.activityFailures, { activity: 'chargePayment', type: 'PaymentDeclined' })).toBe(1);
    expect(workerDelta(m.activityFailures)).toBe(1);

    // Step durations: one observation per attempt, by step and outcome.
    const steps = (step: string, outcome: string) => workerDelta(`${m.sagaStepDuration}_count`, { step, outcome });
    // Recording and reserving are one step (patch record-and-reserve-in-one-step), measured as record-order.
    expect(steps('record-order', 'completed')).toBe(2);
    expect(steps('reserve-inventory', 'completed')).toBe(0);
    expect(steps('take-payment', 'completed')).toBe(1);
    expect(steps('take-payment', 'failed')).toBe(1);
    expect(steps('create-shipments', 'completed')).toBe(1);
    expect(steps('release-inventory', 'completed')).toBe(1);
    expect(steps('record-outcome', 'completed')).toBe(1);
    expect(workerDelta(`${m.sagaStepDuration}_count`)).toBe(7);
  });

  it("serves the Temporal SDK's own worker metrics through the worker's /metrics", async () => {
    const scrape = await scrapeWorker();
    const names = [...scrape.names()];
    expect(names.filter((name) => name.startsWith('temporal_')).length).toBeGreaterThan(5);
    const slots = scrape.matching('temporal_worker_task_slots_available', {
      task_queue: api.config.temporal.taskQueue,
    });
    expect(slots.map((s) => s.labels['worker_type']).sort()).toEqual(
      expect.arrayContaining(['ActivityWorker', 'LocalActivityWorker', 'WorkflowWorker']),
    );
    // Every SDK metric the dashboard queries (platform/metrics.ts lists them) is served under that name.
    for (const name of temporalSdkMetricNames) {
      expect({ name, served: names.includes(name) || names.includes(`${name}_bucket`) }).toEqual({
        name,
        served: true,
      });
    }
    // And the process' own metrics, from prom-client's defaults.
    expect(names).toEqual(expect.arrayContaining(['process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']));
  });

  it('exports each dependency of the readiness check as gauges on the API', async () => {
    const scrape = await scrapeApi();
    for (const dependency of ['postgres', 'redis', 'temporal']) {
      expect({ dependency, up: scrape.value(m.dependencyUp, { dependency }) }).toEqual({ dependency, up: 1 });
      expect(scrape.value(m.dependencyResponse, { dependency })).toBeGreaterThanOrEqual(0);
    }
  });

  it("serves the API's metrics on a port of their own: the public API port has no /metrics", async () => {
    // What a client of the API gets for /metrics, with a key or without: an unknown path's 404.
    for (const app of [api.app, api.bareApp]) {
      const onApiPort = await request(app).get('/metrics');
      expect(onApiPort.status).toBe(404);
      expect(onApiPort.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(onApiPort.text).not.toContain('shopflow_');
    }
    // The metrics server answers in Prometheus' text format.
    const res = await api.scrapeMetrics();
    expect(res).toMatch(/^# HELP /m);
  });

  it('runs no API metrics server when METRICS_ENABLED=false', async () => {
    const off = await startApi(testConfig({ METRICS_ENABLED: 'false' }));
    try {
      await expect(off.scrapeMetrics()).rejects.toThrow('METRICS_ENABLED=false');
      await request(off.app).get('/metrics').expect(404);
    } finally {
      await off.close();
    }
  });
});
