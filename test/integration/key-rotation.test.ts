import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { orderIdFromWorkflowId } from '../../domain/ids';
import { placeOrderThroughApi } from '../support/api-orders';
import { shopflowWith } from '../support/cli';
import {
  eventually,
  startApi,
  startWorker,
  testConfig,
  type RunningWorker,
  type TestPlatform,
} from '../support/platform';

/**
 * Rotating the payload encryption key while an order is in flight (docs/operations.md, "Payload
 * encryption"): the order starts with key k1 current; the API and the worker are restarted with
 * k2 current and k1 kept; the order finishes. Its history then holds payloads of both keys,
 * `shopflow history keys` names them, the history replays with both keys, and without k1 it does
 * not, naming the missing key.
 */
describe('payload key rotation mid-flight', () => {
  const k1 = `k1:${randomBytes(32).toString('base64')}`;
  const k2 = `k2:${randomBytes(32).toString('base64')}`;
  // One task queue for both generations of processes, as a rolling restart keeps it.
  const taskQueue = `key-rotation-${randomUUID()}`;
  const before = testConfig({ PAYLOAD_KEYS: k1, PAYLOAD_KEY_ID: 'k1', TEMPORAL_TASK_QUEUE: taskQueue });
  const after = testConfig({ PAYLOAD_KEYS: `${k1},${k2}`, PAYLOAD_KEY_ID: 'k2', TEMPORAL_TASK_QUEUE: taskQueue });
  const running: { apis: TestPlatform[]; workers: RunningWorker[] } = { apis: [], workers: [] };
  let workflowId: string;

  beforeAll(async () => {
    const apiBefore = await startApi(before);
    running.apis.push(apiBefore);
    const workerBefore = await startWorker(before);
    running.workers.push(workerBefore);
    workflowId = await placeOrderThroughApi(apiBefore);
    const orderId = orderIdFromWorkflowId(workflowId)!;
    // SHIPPED: reserved, charged and shipped under k1; the order now waits for the carrier.
    await eventually(async () => {
      const res = await request(apiBefore.app).get(`/v1/orders/${orderId}`);
      return res.body.status === 'SHIPPED' ? true : undefined;
    }, 60_000);

    // The rotation: every process restarted with k2 current and k1 kept for what k1 encrypted.
    await workerBefore.stop();
    await apiBefore.close();
    running.apis.length = 0;
    running.workers.length = 0;
    const apiAfter = await startApi(after);
    running.apis.push(apiAfter);
    running.workers.push(await startWorker(after));
    const shipment = await apiAfter.deps.db.shipment.findFirstOrThrow({ where: { orderId } });
    await request(apiAfter.app).post(`/v1/shipments/${shipment.id}/delivered`).send({}).expect(202);
    await expect(apiAfter.deps.temporal.client.workflow.getHandle(workflowId).result()).resolves.toMatchObject({
      status: 'DELIVERED',
    });
  }, 120_000);

  afterAll(async () => {
    for (const worker of running.workers) await worker.stop();
    for (const api of running.apis) await api.close();
  });

  const keysEnv = (keys: string, current: string) => ({ PAYLOAD_KEYS: keys, PAYLOAD_KEY_ID: current });

  it('the history holds payloads of both keys, and `shopflow history keys` names them', () => {
    const run = shopflowWith(keysEnv(`${k1},${k2}`, 'k2'), 'history', 'keys', '--workflow-id', workflowId, '--json');
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const answer = JSON.parse(run.stdout) as {
      histories: { workflowId: string; keyIds: Record<string, number>; missingKeyIds: string[] }[];
      keyIdsInUse: string[];
      notConfigured: string[];
    };
    expect(answer.keyIdsInUse).toEqual(['k1', 'k2']);
    expect(answer.notConfigured).toEqual([]);
    const [history] = answer.histories;
    expect(history!.workflowId).toBe(workflowId);
    expect(history!.keyIds['k1']).toBeGreaterThan(0);
    expect(history!.keyIds['k2']).toBeGreaterThan(0);
  });

  it('with k1 gone from PAYLOAD_KEYS, `shopflow history keys` says so and exits 1', () => {
    const run = shopflowWith(keysEnv(k2, 'k2'), 'history', 'keys', '--workflow-id', workflowId);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('k1 ×');
    expect(run.stdout).toContain('(not configured)');
    expect(run.stdout).toContain('key ids not in PAYLOAD_KEYS: k1');
  });

  it('replays with both keys, and not with k2 alone, naming the missing key', () => {
    const withBoth = shopflowWith(keysEnv(`${k1},${k2}`, 'k2'), 'replay', '--workflow-id', workflowId);
    expect({ status: withBoth.status, stderr: withBoth.stderr }).toEqual({ status: 0, stderr: '' });

    const withoutK1 = shopflowWith(keysEnv(k2, 'k2'), 'replay', '--workflow-id', workflowId);
    expect(withoutK1.status).toBe(1);
    expect(withoutK1.stdout + withoutK1.stderr).toContain('key id "k1"');
  });
});
