import request from 'supertest';
import { freePort } from '../support/processes';
import { startApi, testConfig, type TestPlatform } from '../support/platform';

/** Readiness checks each dependency for real; one that stops answering makes it 503, by name. */
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

  it.each([
    ['redis', 'REDIS_URL', (port: number) => `redis://127.0.0.1:${port}`],
    ['postgres', 'DATABASE_URL', (port: number) => `postgresql://postgres@127.0.0.1:${port}/shopflow`],
    ['temporal', 'TEMPORAL_ADDRESS', (port: number) => `127.0.0.1:${port}`],
  ])('answers 503 naming %s when it stops answering (%s at a closed port)', async (name, variable, at) => {
    const api = await apiWith({ [variable]: at(await freePort()) });
    const res = await request(api.app).get('/health/ready').expect(503);
    expect(res.body.status).toBe('DOWN');
    expect(res.body.checks[name]).toMatchObject({ status: 'DOWN', error: expect.any(String) });
    const others = Object.entries(res.body.checks as Record<string, { status: string }>).filter(([n]) => n !== name);
    expect(others.every(([, check]) => check.status !== 'DOWN')).toBe(true);
  });
});
