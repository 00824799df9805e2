import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import express from 'express';
import request from 'supertest';
import { httpMetrics, UNMATCHED_ROUTE } from '../../api/operations/http-metrics';
import { createHealthMonitor } from '../../platform/health';
import { createApiMetrics, createWorkerMetrics, metricNames as m } from '../../platform/metrics';
import { activityMetricsInterceptor, failureType } from '../../worker/activity-metrics';
import { parsePrometheusText, Scrape } from '../support/prometheus';

const scrape = async (metrics: { registry: { metrics(): Promise<string> } }) =>
  new Scrape(await metrics.registry.metrics());

describe('HTTP metrics', () => {
  function appWith() {
    const metrics = createApiMetrics();
    const app = express();
    app.use(httpMetrics(metrics));
    app.get('/v1/orders/:orderId', (req, res) => {
      if (req.params.orderId === 'broken') throw new Error('boom');
      res.json({});
    });
    return { app, metrics };
  }

  it('labels requests with the route pattern, never the raw URL, and the status', async () => {
    const { app, metrics } = appWith();
    await request(app).get('/v1/orders/1f0c').expect(200);
    await request(app).get('/v1/orders/2a9e').expect(200);
    await request(app).get('/v1/orders/broken').expect(500);
    await request(app).get('/nowhere/3b').expect(404);

    const s = await scrape(metrics);
    const count = `${m.httpRequestDuration}_count`;
    expect(s.value(count, { method: 'GET', route: '/v1/orders/:orderId', status: '200' })).toBe(2);
    expect(s.value(count, { route: '/v1/orders/:orderId', status: '500' })).toBe(1);
    expect(s.value(count, { route: UNMATCHED_ROUTE, status: '404' })).toBe(1);
    expect(s.matching(count).map((x) => x.labels['route'])).not.toContain('/v1/orders/1f0c');
  });
});

describe('activity metrics', () => {
  function run(activityType: string, outcome: () => Promise<unknown>, args: unknown[] = []) {
    const metrics = createWorkerMetrics();
    const ctx = { info: { activityType } } as unknown as Context;
    const inbound = activityMetricsInterceptor(metrics)(ctx).inbound!;
    const done = inbound.execute!({ args, headers: {} }, outcome);
    return { metrics, done };
  }

  it('times a saga step and counts its failure by the ApplicationFailure type', async () => {
    const declined = ApplicationFailure.nonRetryable('card declined', 'PaymentDeclined');
    const { metrics, done } = run('chargePayment', () => Promise.reject(declined));
    await expect(done).rejects.toBe(declined);
    const s = await scrape(metrics);
    expect(s.value(m.activityFailures, { activity: 'chargePayment', type: 'PaymentDeclined' })).toBe(1);
    expect(s.value(`${m.sagaStepDuration}_count`, { step: 'take-payment', outcome: 'failed' })).toBe(1);
    expect(s.value(m.sagaCompensations)).toBe(0);
  });

  it('counts a compensation done, and one failed only when it fails for good', async () => {
    const ok = run('releaseInventory', () => Promise.resolve({ released: [] }));
    await ok.done;
    expect((await scrape(ok.metrics)).value(m.sagaCompensations, { step: 'release-inventory', outcome: 'done' })).toBe(
      1,
    );

    const retryable = run('refundPayment', () => Promise.reject(new Error('provider away')));
    await expect(retryable.done).rejects.toThrow('provider away');
    const afterRetryable = await scrape(retryable.metrics);
    expect(afterRetryable.value(m.sagaCompensations)).toBe(0);
    expect(afterRetryable.value(m.activityFailures, { activity: 'refundPayment', type: 'Error' })).toBe(1);

    const forGood = run('refundPayment', () => Promise.reject(ApplicationFailure.nonRetryable('bug', 'Bug')));
    await expect(forGood.done).rejects.toThrow('bug');
    expect((await scrape(forGood.metrics)).value(m.sagaCompensations, { outcome: 'failed' })).toBe(1);
  });

  it("counts an order's final status when its outcome is recorded", async () => {
    const { metrics, done } = run('recordOrderOutcome', () => Promise.resolve({ status: 'CANCELLED' }), [
      { orderId: 'o-1', status: 'CANCELLED' },
    ]);
    await done;
    expect((await scrape(metrics)).value(m.ordersCompleted, { status: 'CANCELLED' })).toBe(1);
  });

  it('names failures by type, else by error class', () => {
    expect(failureType(ApplicationFailure.retryable('x', 'OutOfStock'))).toBe('OutOfStock');
    expect(failureType(new TypeError('x'))).toBe('TypeError');
    expect(failureType('a string')).toBe('Error');
  });
});

describe('health monitor', () => {
  it('keeps the last error of a dependency after it recovers, and exports gauges', async () => {
    let up = false;
    const metrics = createApiMetrics();
    const monitor = createHealthMonitor(
      { db: () => (up ? Promise.resolve() : Promise.reject(new Error('connection refused'))) },
      { timeoutMs: 1_000, degradedMs: 500, onReport: (r) => metrics.recordHealth(r), clock: () => new Date(0) },
    );

    const down = await monitor.check();
    expect(down.checks['db']).toMatchObject({
      status: 'DOWN',
      error: 'connection refused',
      lastError: { message: 'connection refused', at: '1970-01-01T00:00:00.000Z' },
    });
    expect((await scrape(metrics)).value(m.dependencyUp, { dependency: 'db' })).toBe(0);

    up = true;
    const recovered = await monitor.check();
    expect(recovered.checks['db']).toMatchObject({ status: 'UP', lastError: { message: 'connection refused' } });
    expect(recovered.checks['db']!.error).toBeUndefined();
    expect((await scrape(metrics)).value(m.dependencyUp, { dependency: 'db' })).toBe(1);
  });
});

describe('Prometheus text parsing (test support)', () => {
  it('reads names, escaped label values and special values', () => {
    const samples = parsePrometheusText(
      [
        '# HELP x_total A counter',
        '# TYPE x_total counter',
        'x_total{scope="POST /v1/orders",note="a \\"quoted\\", comma"} 3',
        'y_bucket{le="+Inf"} 7 1700000000000',
        'z NaN',
      ].join('\n'),
    );
    expect(samples[0]).toEqual({
      name: 'x_total',
      labels: { scope: 'POST /v1/orders', note: 'a "quoted", comma' },
      value: 3,
    });
    expect(samples[1]).toEqual({ name: 'y_bucket', labels: { le: '+Inf' }, value: 7 });
    expect(samples[2]!.value).toBeNaN();
  });
});
