import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import pino from 'pino';
import request from 'supertest';
import { createApiKey, createApiKeyAuthenticator, revokeApiKey } from '../../access/api-keys';
import { createCodecApp } from '../../platform/codec-server';
import { createDatabase } from '../../platform/database';
import { EncryptionCodec } from '../../platform/payload-codec';
import { createCustomer, createSeller } from '../support/catalogue';
import { testConfig } from '../support/platform';
import { runEntry } from '../support/processes';

/**
 * The codec server as the Web UI and an operator's tools use it: Temporal's remote codec
 * protocol (protobuf JSON payloads, base64 bytes), behind operators' API keys and CORS. Keys are
 * real rows of the test database, checked as the API checks them (no key cache here, so that a
 * revocation shows at once; with the cache it takes effect within API_KEY_CACHE_TTL_MS).
 */
describe('codec server', () => {
  const uiOrigin = 'http://127.0.0.1:8233';
  const codec = new EncryptionCodec({ keys: new Map([['k1', randomBytes(32)]]), currentKeyId: 'k1' });
  const db = createDatabase(testConfig());
  const logLines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info', base: undefined },
    { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const apiKeys = createApiKeyAuthenticator(db, { cacheTtlMs: 0 });
  const app = createCodecApp({
    codec,
    authenticate: (key) => apiKeys.authenticate(key),
    corsOrigins: [uiOrigin],
    logger,
  });
  /** An operator's key (the credential every allowed call below uses), and its id for the log. */
  let token: string;
  let operatorKeyId: string;
  const keys = {} as Record<'revoked' | 'customer' | 'seller', string>;

  beforeAll(async () => {
    const operator = await createApiKey(db, { role: 'operator', name: 'codec test: operator Ada' });
    token = operator.key;
    operatorKeyId = operator.record.id;
    const revoked = await createApiKey(db, { role: 'operator', name: 'codec test: operator who left' });
    await revokeApiKey(db, revoked.record.id);
    keys.revoked = revoked.key;
    const customer = await createCustomer(db);
    keys.customer = (await createApiKey(db, { role: 'customer', customerId: customer.id, name: 'codec test' })).key;
    const seller = await createSeller(db);
    keys.seller = (await createApiKey(db, { role: 'seller', sellerId: seller.id, name: 'codec test' })).key;
  });
  afterAll(() => db.$disconnect());

  const customer = { recipient: 'Ada Lovelace', email: 'ada@example.test' };
  const plainJson = () => {
    const payload = defaultPayloadConverter.toPayload(customer);
    return {
      metadata: { encoding: Buffer.from(payload.metadata!['encoding']!).toString('base64') },
      data: Buffer.from(payload.data!).toString('base64'),
    };
  };
  const fromBase64 = (value: string) => Buffer.from(value, 'base64').toString();

  it("encodes and decodes payloads for an operator's API key", async () => {
    const encoded = await request(app)
      .post('/encode')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Namespace', 'default')
      .send({ payloads: [plainJson()] })
      .expect(200);
    const [encrypted] = encoded.body.payloads as { metadata: Record<string, string>; data: string }[];
    expect(fromBase64(encrypted!.metadata['encoding']!)).toBe('binary/encrypted');
    expect(fromBase64(encrypted!.metadata['encryption-key-id']!)).toBe('k1');
    expect(fromBase64(encrypted!.data)).not.toContain('Ada Lovelace');

    const decoded = await request(app)
      .post('/decode')
      .set('Authorization', `Bearer ${token}`)
      .send({ payloads: [encrypted] })
      .expect(200);
    expect(decoded.body).toEqual({ payloads: [plainJson()] });
  });

  it('takes the key in front of the operation, as the Web UI calls it (endpoint http://host:port/<key>)', async () => {
    const { body } = await request(app)
      .post('/encode')
      .set('Authorization', `Bearer ${token}`)
      .send({ payloads: [plainJson()] });
    const decoded = await request(app)
      .post(`/${token}/decode`)
      .set('Origin', uiOrigin)
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(200);
    expect(decoded.headers['access-control-allow-origin']).toBe(uiOrigin);
    expect(decoded.body).toEqual({ payloads: [plainJson()] });
  });

  it('logs every decode with the key that asked for it, never the payloads', async () => {
    const { body } = await request(app)
      .post('/encode')
      .set('Authorization', `Bearer ${token}`)
      .send({ payloads: [plainJson()] });
    logLines.length = 0;
    await request(app).post(`/${token}/decode`).set('X-Namespace', 'shopflow').send(body).expect(200);
    expect(logLines).toEqual([
      expect.objectContaining({
        msg: 'codec decode',
        operation: 'decode',
        keyId: operatorKeyId,
        namespace: 'shopflow',
        payloads: 1,
      }),
    ]);
    expect(JSON.stringify(logLines)).not.toContain('Ada Lovelace');
    expect(JSON.stringify(logLines)).not.toContain(token);
  });

  // What each bad credential gets: 401 (with WWW-Authenticate) when there is none or it is no live
  // key, 403 when it is a live key of a customer or a seller. Nothing is decoded either way.
  it.each([
    ['no credential', () => ({ headers: {}, path: '/decode' }), 401, 'the codec server needs an operator API key'],
    [
      'a malformed bearer token',
      () => ({ headers: { Authorization: 'Bearer not-a-key' }, path: '/decode' }),
      401,
      'the API key is unknown or revoked',
    ],
    [
      'a malformed key in the path',
      () => ({ headers: {}, path: '/not-a-key/decode' }),
      401,
      'the API key is unknown or revoked',
    ],
    [
      "an operator's revoked key",
      () => ({ headers: { Authorization: `Bearer ${keys.revoked}` }, path: '/decode' }),
      401,
      'the API key is unknown or revoked',
    ],
    [
      "an operator's revoked key in the path",
      () => ({ headers: {}, path: `/${keys.revoked}/decode` }),
      401,
      'the API key is unknown or revoked',
    ],
    [
      "a customer's key",
      () => ({ headers: { Authorization: `Bearer ${keys.customer}` }, path: '/decode' }),
      403,
      'only operator keys may use the codec server',
    ],
    [
      "a seller's key in the path",
      () => ({ headers: {}, path: `/${keys.seller}/decode` }),
      403,
      'only operator keys may use the codec server',
    ],
  ] as const)('refuses %s with %i problem+json', async (_case, call, status, detail) => {
    const { headers, path } = call();
    const res = await request(app)
      .post(path)
      .set(headers)
      .send({ payloads: [plainJson()] })
      .expect(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, detail });
    expect(res.body).not.toHaveProperty('payloads');
    if (status === 401) expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('names the unknown key id when a payload was encrypted with a key it does not hold', async () => {
    const other = new EncryptionCodec({ keys: new Map([['retired', randomBytes(32)]]), currentKeyId: 'retired' });
    const [foreign] = await other.encode([defaultPayloadConverter.toPayload(customer)]);
    const res = await request(app)
      .post('/decode')
      .set('Authorization', `Bearer ${token}`)
      .send({
        payloads: [
          {
            metadata: Object.fromEntries(
              Object.entries(foreign!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
            ),
            data: Buffer.from(foreign!.data!).toString('base64'),
          },
        ],
      })
      .expect(422);
    expect(res.body.detail).toContain('key id "retired"');
  });

  it('refuses a body that is not a list of payloads', async () => {
    await request(app).post('/decode').set('Authorization', `Bearer ${token}`).send({ nope: true }).expect(400);
  });

  it("answers the Web UI's preflight from its origin, allowing the headers the UI sends", async () => {
    const res = await request(app)
      .options(`/${token}/decode`)
      .set('Origin', uiOrigin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,x-namespace,authorization')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe(uiOrigin);
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    const allowed = res.headers['access-control-allow-headers']!.toLowerCase();
    for (const header of ['authorization', 'content-type', 'x-namespace']) expect(allowed).toContain(header);
  });

  it('refuses a browser on any other origin, preflight and request alike', async () => {
    const preflight = await request(app)
      .options('/decode')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST')
      .expect(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const post = await request(app)
      .post('/decode')
      .set('Origin', 'https://evil.example')
      .set('Authorization', `Bearer ${token}`)
      .send({ payloads: [plainJson()] })
      .expect(403);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('will not start in production with the public development key', () => {
    const run = runEntry('scripts/codec-server.ts', { NODE_ENV: 'production' });
    expect(run.status).toBe(78);
    expect(run.stderr.trim()).toBe(
      'shopflow: invalid configuration: PAYLOAD_KEYS holds the public development key, which production refuses: set your own keys',
    );
  });
});
