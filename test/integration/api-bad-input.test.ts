import request from 'supertest';
import { startApi, type TestPlatform } from '../support/platform';

/** What each kind of bad input gets: a 4xx problem+json naming the problem, and nothing started. */
describe('API bad input', () => {
  let api: TestPlatform;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  const expectProblem = (res: request.Response, status: number, type: string): void => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, type: `https://shopflow.dev/problems/${type}` });
    expect(JSON.stringify(res.body)).not.toMatch(/at .+\.ts:\d+/); // never a stack trace
  };

  it('a body that is not JSON gets 415', async () => {
    const res = await request(api.app).post('/v1/probes').set('Content-Type', 'text/plain').send('note=hi');
    expectProblem(res, 415, 'unsupported-media-type');
    expect(res.body.detail).toContain('text/plain');
  });

  it('malformed JSON gets 400 malformed-json', async () => {
    const res = await request(api.app).post('/v1/probes').set('Content-Type', 'application/json').send('{"note":');
    expectProblem(res, 400, 'malformed-json');
  });

  it('a body over 100 kB gets 413', async () => {
    const res = await request(api.app)
      .post('/v1/probes')
      .send({ note: 'x'.repeat(200_000) });
    expectProblem(res, 413, 'payload-too-large');
  });

  it('bad fields get 400 naming each field', async () => {
    const res = await request(api.app)
      .post('/v1/probes')
      .send({ note: 'y'.repeat(501), probeId: 'not-a-uuid', extra: true });
    expectProblem(res, 400, 'validation-error');
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'body.note', message: 'must be at most 500 characters' },
        { field: 'body.probeId', message: 'must be a UUID' },
        expect.objectContaining({ field: 'body' }),
      ]),
    );
  });

  it('a bad path parameter gets 400 naming it', async () => {
    const res = await request(api.app).get('/v1/probes/123');
    expectProblem(res, 400, 'validation-error');
    expect(res.body.errors).toEqual([{ field: 'path.probeId', message: 'must be a UUID' }]);
  });

  it('an unknown route gets 404', async () => {
    expectProblem(await request(api.app).get('/v1/nothing-here'), 404, 'not-found');
  });

  it('a wrong method gets 405 with Allow', async () => {
    const res = await request(api.app).delete('/v1/probes');
    expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers['allow']).toBe('POST');
  });

  it('keeps a well-formed caller request id and replaces a bad one', async () => {
    const kept = await request(api.app).get('/health/live').set('X-Request-Id', 'req-123');
    expect(kept.headers['x-request-id']).toBe('req-123');
    const replaced = await request(api.app).get('/health/live').set('X-Request-Id', 'bad id with spaces');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
