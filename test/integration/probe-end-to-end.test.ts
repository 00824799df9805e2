import request from 'supertest';
import { recordHistory } from '../support/histories';
import {
  startApi,
  startWorker,
  eventually,
  testConfig,
  type RunningWorker,
  type TestPlatform,
} from '../support/platform';

/**
 * The platform end to end: a client starts a workflow over HTTP, a real worker runs it against
 * the real dev server, PostgreSQL and Redis, and the client reads the result back over HTTP.
 */
describe('platform probe over HTTP', () => {
  const config = testConfig();
  let api: TestPlatform;
  let worker: RunningWorker;

  beforeAll(async () => {
    api = await startApi(config);
    worker = await startWorker(config);
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
  });

  it('runs a probe workflow on the worker and returns its result', async () => {
    const started = await request(api.app).post('/v1/probes').send({ note: 'end-to-end test' }).expect(202);
    expect(started.headers['location']).toBe(`/v1/probes/${started.body.probeId}`);
    expect(started.body).toMatchObject({ status: 'RUNNING', workflowId: `probe-${started.body.probeId}` });

    const completed = await eventually(async () => {
      const res = await request(api.app).get(`/v1/probes/${started.body.probeId}`).expect(200);
      return res.body.status === 'COMPLETED' ? res.body : undefined;
    });

    expect(completed.result).toMatchObject({ probeId: started.body.probeId });
    expect(completed.result.postgresMs).toBeGreaterThanOrEqual(0);
    expect(completed.result.redisMs).toBeGreaterThanOrEqual(0);
    const row = await worker.db.probeRun.findUniqueOrThrow({ where: { id: started.body.probeId } });
    expect(row.note).toBe('end-to-end test');
    expect(row.completedAt?.toISOString()).toBe(completed.result.completedAt);
    recordHistory(started.body.workflowId, 'probe-completed');
  });

  it('answers 404 problem+json for a probe that does not exist', async () => {
    const res = await request(api.app).get('/v1/probes/8d7a2f0e-4a8f-4c1e-9a57-0e7c1f1b2c3d').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, title: 'Not Found' });
  });

  it('refuses a second probe with the same id (409), starting nothing twice', async () => {
    const probeId = '0b8f5a4e-1f7c-4d2a-8e3b-5c6d7e8f9a0b';
    await request(api.app).post('/v1/probes').send({ probeId }).expect(202);
    const again = await request(api.app).post('/v1/probes').send({ probeId }).expect(409);
    expect(again.body.detail).toContain(probeId);
  });
});
