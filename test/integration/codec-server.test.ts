import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import pino from 'pino';
import request from 'supertest';
import { createCodecApp } from '../../platform/codec-server';
import { EncryptionCodec } from '../../platform/payload-codec';
import { runEntry } from '../support/processes';

/**
 * The codec server as the Web UI and an operator's tools use it: Temporal's remote codec
 * protocol (protobuf JSON payloads, base64 bytes), behind the operator token and CORS.
 */
describe('codec server', () => {
  const token = `operator-${randomBytes(12).toString('hex')}`;
  const uiOrigin = 'http://127.0.0.1:8233';
  const codec = new EncryptionCodec({ keys: new Map([['k1', randomBytes(32)]]), currentKeyId: 'k1' });
  const app = createCodecApp({ codec, token, corsOrigins: [uiOrigin], logger: pino({ level: 'silent' }) });

  const customer = { recipient: 'Ada Lovelace', email: 'ada@example.test' };
  const plainJson = () => {
    const payload = defaultPayloadConverter.toPayload(customer);
    return {
      metadata: { encoding: Buffer.from(payload.metadata!['encoding']!).toString('base64') },
      data: Buffer.from(payload.data!).toString('base64'),
    };
  };
  const fromBase64 = (value: string) => Buffer.from(value, 'base64').toString();

  it('encodes and decodes payloads for an operator with the token', async () => {
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

  it('takes the token in front of the operation, as the Web UI calls it (endpoint http://host:port/<token>)', async () => {
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

  it.each([
    ['no credential', {}, '/decode'],
    ['a wrong bearer token', { Authorization: 'Bearer not-the-token' }, '/decode'],
    ['a wrong token in the path', {}, '/not-the-token/decode'],
  ])('refuses %s with 401 problem+json', async (_case, headers, path) => {
    const res = await request(app)
      .post(path)
      .set(headers)
      .send({ payloads: [plainJson()] })
      .expect(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized' });
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

  it('will not start without an operator token (npm run codec-server)', () => {
    const run = runEntry('scripts/codec-server.ts', { CODEC_SERVER_TOKEN: '' });
    expect(run.status).toBe(78);
    expect(run.stderr.trim()).toBe(
      'shopflow: invalid configuration: CODEC_SERVER_TOKEN must be set to run the codec server',
    );
  });

  it('will not start in production with the public development key', () => {
    const run = runEntry('scripts/codec-server.ts', { NODE_ENV: 'production', CODEC_SERVER_TOKEN: token });
    expect(run.status).toBe(78);
    expect(run.stderr.trim()).toBe(
      'shopflow: invalid configuration: PAYLOAD_KEYS holds the public development key, which production refuses: set your own keys',
    );
  });
});
