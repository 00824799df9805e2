import request from 'supertest';
import { metricNames } from '../../platform/metrics';
import { freePort } from '../support/processes';
import { Scrape } from '../support/prometheus';
import { startApi, testConfig, type TestPlatform } from '../support/platform';

/**
 * Readiness checks each dependency for real; a required one that stops answering makes it 503, by
 * name. Redis only holds the read cache (reads fall back to PostgreSQL): without it the API is
 * DEGRADED but still ready.
 */
describe('health endpoints', () => {
  const platforms: TestPlatform[] = [];
  afterAll(() => Promise.all(platforms.map((p) => p.close())));

  async function apiWith(overrides: Record<string, string> = {}): Promise<TestPlatform> {
    const platform = await startApi(testConfig({ HEALTH_TIMEOUT_MS: '1500', ...overrides }));
    platforms.push(platform);
    return platform;
  }

  it('is ready (200) with PostgreSQL, Redis and Temporal each UP and timed', async () => {
    const res = await request((await apiWith()).app)
      .get('/health/ready')
      .expect(200);
    for (const name of ['postgres', 'redis', 'temporal']) {
      expect(res.body.checks[name]).toMatchObject({ status: expect.stringMatching(/^(UP|DEGRADED)$/) });
      expect(res.body.checks[name].responseTimeMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('is live even when every dependency is down', async () => {
    const port = await freePort();
    const api = await apiWith({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/x`,
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    await request(api.app)
      .get('/health/live')
      .expect(200, /"status":"UP"/);
  });

  it('answers a keyed /v1 request 503 (not 500) while PostgreSQL is away, and public routes still answer', async () => {
    const api = await apiWith({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${await freePort()}/shopflow` });
    const wellFormedKey = `sfk_0123456789abcdef_${'k'.repeat(43)}`;
    const res = await request(api.bareApp)
      .get('/v1/products/search?q=chair')
      .set('Authorization', `Bearer ${wellFormedKey}`)
      .expect(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBe('5');
    // A key on a public route is not even looked up.
    await request(api.bareApp).get('/health/live').set('Authorization', `Bearer ${wellFormedKey}`).expect(200);
  });

  it.each([
    ['postgres', 'DATABASE_URL', (port: number) => `postgresql://postgres@127.0.0.1:${port}/shopflow`],
    ['temporal', 'TEMPORAL_ADDRESS', (port: number) => `127.0.0.1:${port}`],
  ])('answers 503 naming %s when it stops answering (%s at a closed port)', async (name, variable, at) => {
    const api = await apiWith({ [variable]: at(await freePort()) });
    const res = await request(api.app).get('/health/ready').expect(503);
    expect(res.body.status).toBe('DOWN');
    expect(res.body.checks[name]).toMatchObject({ status: 'DOWN', error: expect.any(String) });
    const others = Object.entries(res.body.checks as Record<string, { status: string }>).filter(([n]) => n !== name);
    expect(others.every(([, check]) => check.status !== 'DOWN')).toBe(true);
    // The last error stays in the report, with when it happened.
    expect(res.body.checks[name].lastError).toEqual({ message: res.body.checks[name].error, at: expect.any(String) });
    expect(Date.parse(res.body.checks[name].lastError.at)).not.toBeNaN();

    // The same results as gauges on /metrics: this dependency down, the others up.
    const scrape = new Scrape(await api.scrapeMetrics());
    expect(scrape.value(metricNames.dependencyUp, { dependency: name })).toBe(0);
    expect(scrape.value(metricNames.dependencyLastFailure, { dependency: name })).toBeGreaterThan(0);
    for (const [other] of others)
      expect({ other, up: scrape.value(metricNames.dependencyUp, { dependency: other }) }).toEqual({ other, up: 1 });
  });

  it('stays ready (200) but DEGRADED without Redis, naming redis DOWN with its error', async () => {
    const api = await apiWith({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    const res = await request(api.app).get('/health/ready').expect(200);
    expect(res.body.status).toBe('DEGRADED');
    expect(res.body.checks.redis).toMatchObject({ status: 'DOWN', optional: true, error: expect.any(String) });
    expect(res.body.checks.redis.lastError).toEqual({ message: res.body.checks.redis.error, at: expect.any(String) });
    for (const name of ['postgres', 'temporal']) expect(res.body.checks[name].status).not.toBe('DOWN');

    const scrape = new Scrape(await api.scrapeMetrics());
    expect(scrape.value(metricNames.dependencyUp, { dependency: 'redis' })).toBe(0);
    expect(scrape.value(metricNames.dependencyUp, { dependency: 'postgres' })).toBe(1);
  });
});
