import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, isAlive, pidsMentioning, startEntry, type LongRunning } from '../support/processes';
import { descendantsOf, freeStartPorts, isListening, startPlatform, startSettings, within } from '../support/npm-start';
import { testServices } from '../support/services';

/**
 * `npm start` as a newcomer runs it, on ports of its own: it starts a Temporal dev server and,
 * since no PostgreSQL answers at the DATABASE_URL we give it, an embedded PostgreSQL; migrates;
 * runs the worker and the API; answers; and on Ctrl-C stops everything it started. Killed outright,
 * it leaves nothing behind either. (Restarts, giving up and a second run: npm-start-supervision.test.ts.)
 */
describe('npm start', () => {
  let dataDir: string;
  let start: LongRunning | undefined;
  /** Whatever a failing test could leave running, for afterAll. */
  const leftovers: number[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-start-'));
  });
  afterAll(() => {
    if (start && start.child.exitCode === null) start.child.kill('SIGKILL');
    for (const pid of [...pidsMentioning(dataDir), ...leftovers.filter(isAlive)]) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('brings the platform up, prints where it is, and leaves nothing behind on Ctrl-C', async () => {
    const ports = await freeStartPorts();
    start = startPlatform({ ...startSettings(ports, dataDir, 'npm-start-test'), REDIS_URL: testServices.redisUrl });
    await start.waitForOutput('Press Ctrl-C to stop.', 120_000);

    const output = start.output();
    expect(output).toContain('starting an embedded PostgreSQL');
    expect(output).toContain(`API           http://127.0.0.1:${ports.api}`);
    expect(output).toContain(`Temporal UI   http://127.0.0.1:${ports.temporalUi}`);

    const ready = await fetch(`http://127.0.0.1:${ports.api}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: expect.stringMatching(/^(UP|DEGRADED)$/),
      checks: { postgres: { status: expect.any(String) }, redis: {}, temporal: {} },
    });
    // The worker process's /metrics: its own metrics and the Temporal SDK's, proxied from loopback.
    const workerMetrics = await (await fetch(`http://127.0.0.1:${ports.workerMetrics}/metrics`)).text();
    expect(workerMetrics).toMatch(/^process_cpu_seconds_total\{process="worker"\} /m);
    expect(workerMetrics).toMatch(/^temporal_worker_task_slots_available\{.*task_queue="npm-start-test"/m);
    // The API's metrics are on their own port; its public port has none.
    expect(await (await fetch(`http://127.0.0.1:${ports.apiMetrics}/metrics`)).text()).toMatch(
      /^process_cpu_seconds_total\{process="api"\} /m,
    );
    expect((await fetch(`http://127.0.0.1:${ports.api}/metrics`)).status).toBe(404);
    // The projector serves its metrics once it has caught up and reads every stream.
    const projectorMetrics = await eventuallyFetch(`http://127.0.0.1:${ports.projectorMetrics}/metrics`, 30_000);
    expect(projectorMetrics).toMatch(/^process_cpu_seconds_total\{process="projector"\} /m);
    const webUi = await fetch(`http://127.0.0.1:${ports.temporalUi}/`);
    expect(webUi.status).toBe(200);
    expect(await webUi.text()).toContain('<html');

    // The Web UI decrypts payloads through the codec server, with an operator API key of this run in its endpoint.
    const codecEndpoint = /decrypts payloads through it at (\S+) \(an operator key of this run/.exec(output)?.[1];
    expect(codecEndpoint).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${ports.codec}/sfk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$`),
    );
    const settings = (await (await fetch(`http://127.0.0.1:${ports.temporalUi}/api/v1/settings`)).json()) as {
      Codec?: { Endpoint?: string };
    };
    expect(settings.Codec?.Endpoint).toBe(codecEndpoint);
    const decoded = await fetch(`${settings.Codec!.Endpoint!}/decode`, {
      method: 'POST',
      headers: {
        Origin: `http://127.0.0.1:${ports.temporalUi}`,
        'Content-Type': 'application/json',
        'X-Namespace': 'default',
      },
      body: JSON.stringify({ payloads: [] }),
    });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(`http://127.0.0.1:${ports.temporalUi}`);

    // The children are logged with their pids (pino's `pid`), the servers carry dataDir in their arguments.
    const childPids = [...output.matchAll(/"pid":(\d+),"name":"shopflow-(?:api|worker|relay|projector)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(new Set(childPids).size).toBe(4);
    expect(pidsMentioning(dataDir).length).toBeGreaterThanOrEqual(2);

    start.child.kill('SIGINT');
    expect(await start.exited).toEqual({ code: 0, signal: null });
    expect(start.output()).toContain('shopflow stopped');
    expect(childPids.filter(isAlive)).toEqual([]);
    expect(pidsMentioning(dataDir)).toEqual([]);
    for (const port of Object.values(ports)) {
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    }
  }, 180_000);

  it('leaves no process and no held port within seconds when it is killed outright (SIGKILL)', async () => {
    // The data folder of the test above: its embedded PostgreSQL is initialised already.
    const ports = await freeStartPorts();
    const run = startPlatform(startSettings(ports, dataDir, 'npm-start-kill-test'));
    start = run;
    await run.waitForOutput('Press Ctrl-C to stop.', 120_000);
    // Everything below npm start: its Node children, the watchdog, the dev server, PostgreSQL and its backends.
    const processes = descendantsOf(run.child.pid!);
    leftovers.push(...processes);
    expect(processes.length).toBeGreaterThanOrEqual(8);
    expect(pidsMentioning(dataDir).length).toBeGreaterThanOrEqual(2);

    run.child.kill('SIGKILL');
    await run.exited;

    const tookMs = await within(10_000, async () => {
      const open = await Promise.all(Object.values(ports).map(isListening));
      return processes.filter(isAlive).length === 0 && !open.includes(true);
    }).catch(() => {
      throw new Error(
        `still running 10 s after the SIGKILL: ${processes.filter(isAlive).join(', ') || 'no process'}; ` +
          `pids mentioning the data folder: ${pidsMentioning(dataDir).join(', ') || 'none'}`,
      );
    });
    expect(pidsMentioning(dataDir)).toEqual([]);
    expect(tookMs).toBeLessThan(10_000);
  }, 180_000);

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot('stops with one clear line when the embedded PostgreSQL cannot reach its data folder', async () => {
    // As root the embedded PostgreSQL runs as the postgres user; a `mktemp -d` folder (mode 700,
    // root's) on the way to its data stops it.
    const privateDir = mkdtempSync(path.join(tmpdir(), 'shopflow-private-'));
    try {
      const ports = await freeStartPorts();
      const run = startPlatform({
        ...startSettings(ports, path.join(privateDir, 'data'), 'npm-start-private-test'),
        REDIS_URL: testServices.redisUrl,
      });
      const { code } = await run.exited;

      expect(code).toBe(1);
      const output = run.output();
      expect(output).not.toMatch(/^\s+at /m);
      expect(output.trim().split('\n').at(-1)).toBe(
        `shopflow start: the embedded PostgreSQL cannot start: as root, npm start runs it as the postgres user, ` +
          `who cannot enter ${privateDir} (mode 700, owned by root): let it in (chmod o+x ${privateDir}), ` +
          'set DATA_DIR to a folder it can reach, or point DATABASE_URL at a PostgreSQL of your own',
      );
      expect(await isListening(ports.postgres)).toBe(false);
      expect(pidsMentioning(privateDir)).toEqual([]);
    } finally {
      rmSync(privateDir, { recursive: true, force: true });
    }
  });

  it('stops with one clear line saying how to start Redis when none answers', async () => {
    const closedPort = await freePort();
    const run = startEntry('scripts/start.ts', { REDIS_URL: `redis://127.0.0.1:${closedPort}`, DATA_DIR: dataDir });
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.output().trim().split('\n').at(-1)).toBe(
      `shopflow start: no Redis answers at redis://127.0.0.1:${closedPort}. Start one, e.g. ` +
        '`redis-server --daemonize yes --port 6379` or `docker compose up -d redis`, or set REDIS_URL ' +
        '(REDIS_CLUSTER_NODES for a Redis Cluster: `npm run redis-cluster -- start`).',
    );
  });
});

/** The body of the first successful GET within the time. */
async function eventuallyFetch(url: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return await response.text();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
