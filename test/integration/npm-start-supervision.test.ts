import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApiKey } from '../../access/api-keys';
import { createDatabase, type Database } from '../../platform/database';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import {
  childLoggers,
  freeStartPorts,
  isListening,
  livePidOf,
  logLines,
  startPlatform,
  startSettings,
  within,
  type StartPorts,
} from '../support/npm-start';
import { createOutboxDatabase, redisUrlOn, type OutboxDatabase } from '../support/outbox';
import { eventually, testConfig } from '../support/platform';
import { isAlive, pidsMentioning, type LongRunning } from '../support/processes';
import { flushTestRedis, testRedis } from '../support/redis';

/**
 * `npm start` as a supervisor: a child that dies is restarted while the others run on, a child
 * that keeps dying ends the run with one line saying why, and a second run on the same ports
 * refuses. One run serves the three stories, in order (the last one ends it). It uses a database
 * of its own on the test server (no embedded PostgreSQL: npm-start.test.ts covers that one) and
 * Redis database 8, and starts its own Temporal dev server.
 */
describe('npm start supervises its children', () => {
  let dataDir: string;
  let database: OutboxDatabase;
  let db: Database;
  let ports: StartPorts;
  let settings: Record<string, string>;
  let run: LongRunning;
  /** A second run, stopped by afterAll if a failing test left it running. */
  let second: LongRunning | undefined;
  let key: string;
  let apiUrl: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-supervision-'));
    database = await createOutboxDatabase('npm_start_supervision');
    const redisUrl = redisUrlOn(8);
    const redis = testRedis(redisUrl);
    await flushTestRedis(redis);
    redis.disconnect();
    ports = await freeStartPorts();
    settings = {
      ...startSettings(ports, dataDir, `npm-start-supervision-${randomUUID()}`),
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      EMBEDDED_POSTGRES: 'never',
    };
    apiUrl = `http://127.0.0.1:${ports.api}`;
    run = startPlatform(settings);
    await run.waitForOutput('Press Ctrl-C to stop.', 100_000);
    db = createDatabase(testConfig({ DATABASE_URL: database.url }));
    key = (await createApiKey(db, { role: 'operator', name: 'npm start supervision test' })).key;
  }, 120_000);

  afterAll(async () => {
    for (const started of [second, run]) {
      if (started?.child.exitCode === null) started.child.kill('SIGINT');
      await started?.exited;
    }
    for (const pid of pidsMentioning(dataDir)) process.kill(pid, 'SIGKILL');
    await db?.$disconnect();
    await within(10_000, () => pidsMentioning(dataDir).length === 0).catch(() => undefined);
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: string, route: string, body?: object): Promise<Response> =>
    fetch(`${apiUrl}${route}`, {
      method,
      headers: {
        Authorization: `Bearer ${key}`,
        'Content-Type': 'application/json',
        ...(method === 'POST' ? { 'Idempotency-Key': `supervision-${randomUUID()}` } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  async function placeOrder(): Promise<string> {
    const { products } = await createSellerWithProducts(db, [{ stock: 5 }]);
    const customer = await createCustomer(db);
    const response = await call(
      'POST',
      '/v1/orders',
      orderRequestBody(customer.id, [{ productId: products[0]!.id, quantity: 1 }]),
    );
    expect(response.status).toBe(202);
    return ((await response.json()) as { orderId: string }).orderId;
  }

  interface OrderView {
    status: string;
    shipments: { shipmentId: string }[];
  }

  const untilStatus = (orderId: string, status: string): Promise<OrderView> =>
    eventually(
      async () => {
        const response = await call('GET', `/v1/orders/${orderId}`);
        const order = response.ok ? ((await response.json()) as OrderView) : undefined;
        return order?.status === status ? order : undefined;
      },
      60_000,
      250,
    );

  const livePids = () => ({
    api: livePidOf(run.output(), childLoggers.api),
    relay: livePidOf(run.output(), childLoggers.relay),
    projector: livePidOf(run.output(), childLoggers.projector),
    codecServer: livePidOf(run.output(), childLoggers.codecServer),
  });

  it('restarts a killed worker while the API keeps taking orders, and every order completes', async () => {
    const othersBefore = livePids();
    const worker = livePidOf(run.output(), childLoggers.worker);

    const placedBefore = await Promise.all([placeOrder(), placeOrder(), placeOrder()]);
    process.kill(worker, 'SIGKILL');
    // While the worker is down, then starting again: the API accepts as ever.
    const placedDuring = [await placeOrder(), await placeOrder(), await placeOrder()];

    const restart = await eventually(() =>
      Promise.resolve(
        logLines(run.output()).find((line) => line['process'] === 'worker' && line['restartInMs'] !== undefined),
      ),
    );
    expect(restart).toMatchObject({
      name: 'shopflow-start',
      level: 40,
      msg: 'worker exited (signal SIGKILL); restarting it in 0.5 s',
      childPid: worker,
      code: null,
      signal: 'SIGKILL',
      failures: 1,
      restartInMs: 500,
    });

    for (const orderId of [...placedBefore, ...placedDuring]) {
      const shipped = await untilStatus(orderId, 'SHIPPED');
      for (const { shipmentId } of shipped.shipments) {
        expect((await call('POST', `/v1/shipments/${shipmentId}/delivered`, {})).status).toBe(202);
      }
    }
    for (const orderId of [...placedBefore, ...placedDuring]) await untilStatus(orderId, 'DELIVERED');

    // The others ran on, untouched; the worker is a new process.
    expect(livePids()).toEqual(othersBefore);
    expect(livePidOf(run.output(), childLoggers.worker)).not.toBe(worker);
  }, 90_000);

  it('refuses a second npm start on the same ports, naming the process that holds them', async () => {
    const api = livePidOf(run.output(), childLoggers.api);

    second = startPlatform(settings);
    const { code } = await second.exited;

    expect(code).toBe(1);
    expect(second.output()).not.toContain('shopflow is running');
    const lastLine = second.output().trim().split('\n').at(-1)!;
    expect(lastLine).toMatch(
      new RegExp(
        `^shopflow start: port ${ports.api} \\(the API, PORT\\) is already in use by pid ${api} ` +
          `\\(\\S*node .*api/server\\.ts\\), part of another npm start \\(pid ${run.child.pid}\\): ` +
          'stop that one first, or set PORT to a free port$',
      ),
    );
    // The first run is as it was.
    expect((await fetch(`${apiUrl}/health/ready`)).status).toBe(200);
    expect(livePidOf(run.output(), childLoggers.api)).toBe(api);
  }, 30_000);

  it('gives up on a child that keeps failing: stops everything, says why in one line, exits 1', async () => {
    const codecServer = livePidOf(run.output(), childLoggers.codecServer);
    const everyone = [...Object.values(livePids()), livePidOf(run.output(), childLoggers.worker)];

    process.kill(codecServer, 'SIGKILL');
    await within(5_000, () => !isAlive(codecServer));
    // Another program takes the codec server's port before its restart: every restart fails at once.
    const squatter = await listenOn(ports.codec);
    try {
      const exited = await run.exited;

      expect(exited.code).toBe(1);
      const restarts = logLines(run.output()).filter(
        (line) => line['process'] === 'codec server' && line['restartInMs'] !== undefined,
      );
      expect(restarts.map((line) => line['restartInMs'])).toEqual([500, 1_000, 2_000, 4_000]);
      expect(run.output().trim().split('\n').at(-1)).toBe(
        'shopflow start: gave up: the codec server failed 5 times within 60 s (last: exit code 1); everything is stopped',
      );
      expect(everyone.filter(isAlive)).toEqual([]);
      expect(pidsMentioning(dataDir)).toEqual([]);
      for (const port of [ports.api, ports.temporal, ports.temporalUi, ports.workerMetrics, ports.projectorMetrics]) {
        expect(await isListening(port)).toBe(false);
      }
    } finally {
      squatter.close();
    }
  }, 60_000);
});

/** Listens on 127.0.0.1:`port` as soon as it is free. */
async function listenOn(port: number): Promise<Server> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const server = createServer();
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(true));
    });
    if (listening) return server;
    if (Date.now() > deadline) throw new Error(`port ${port} did not come free`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
