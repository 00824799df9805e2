import { checkHealth, degraded, overallStatus, up } from '../../platform/health';

describe('health', () => {
  it('is DOWN when any dependency is down, DEGRADED when any is slow, UP otherwise', () => {
    expect(overallStatus(['UP', 'UP'])).toBe('UP');
    expect(overallStatus(['UP', 'DEGRADED'])).toBe('DEGRADED');
    expect(overallStatus(['DEGRADED', 'DOWN', 'UP'])).toBe('DOWN');
  });

  it('reports each dependency with its status, response time and error', async () => {
    const report = await checkHealth(
      {
        fast: () => Promise.resolve('ok'),
        slow: () => new Promise((resolve) => setTimeout(resolve, 60)),
        broken: () => Promise.reject(new Error('connection refused')),
      },
      { timeoutMs: 1_000, degradedMs: 30 },
    );
    expect(report.status).toBe('DOWN');
    expect(report.checks['fast']).toMatchObject({ status: 'UP' });
    expect(report.checks['slow']).toMatchObject({ status: 'DEGRADED' });
    expect(report.checks['slow']!.responseTimeMs).toBeGreaterThanOrEqual(30);
    expect(report.checks['broken']).toMatchObject({ status: 'DOWN', error: 'connection refused' });
  });

  it('marks a dependency that never answers DOWN at the timeout and aborts its check', async () => {
    let aborted = false;
    const report = await checkHealth(
      {
        silent: (signal) =>
          new Promise(() => {
            signal.addEventListener('abort', () => (aborted = true));
          }),
      },
      { timeoutMs: 50, degradedMs: 10 },
    );
    expect(report.checks['silent']).toMatchObject({ status: 'DOWN', error: 'no answer within 50 ms' });
    expect(aborted).toBe(true);
  });

  it('lets a check that answers report DEGRADED itself, with why', async () => {
    const report = await checkHealth(
      { lagging: () => Promise.resolve(degraded('1200 events behind')), fine: () => Promise.resolve(up()) },
      { timeoutMs: 1_000, degradedMs: 500 },
    );
    expect(report.status).toBe('DEGRADED');
    expect(report.checks['lagging']).toMatchObject({ status: 'DEGRADED', detail: '1200 events behind' });
    expect(report.checks['fine']).toEqual({ status: 'UP', responseTimeMs: expect.any(Number) });
  });

  it('makes the report DEGRADED, not DOWN, when only an optional dependency fails, and still shows it DOWN', async () => {
    const options = { timeoutMs: 1_000, degradedMs: 500 };
    const cacheDown = { check: () => Promise.reject(new Error('connection refused')), optional: true as const };
    const report = await checkHealth({ db: () => Promise.resolve(), cache: cacheDown }, options);
    expect(report.status).toBe('DEGRADED');
    expect(report.checks['cache']).toMatchObject({ status: 'DOWN', optional: true, error: 'connection refused' });
    expect(report.checks['db']).toMatchObject({ status: 'UP' });
    expect(report.checks['db']!.optional).toBeUndefined();

    const bothDown = await checkHealth({ db: () => Promise.reject(new Error('gone')), cache: cacheDown }, options);
    expect(bothDown.status).toBe('DOWN');

    const cacheUp = await checkHealth({ cache: { check: () => Promise.resolve('PONG'), optional: true } }, options);
    expect(cacheUp.status).toBe('UP');
  });
});
