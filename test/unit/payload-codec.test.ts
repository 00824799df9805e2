import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadConfig } from '../../platform/config';
import { ENCRYPTED_ENCODING, EncryptionCodec } from '../../platform/payload-codec';
import { configProblems } from '../support/config-problems';

const customer = { recipient: 'Ada Lovelace', line1: '12 St James Square', token: 'tok_visa' };
const plain = (): Payload => defaultPayloadConverter.toPayload(customer);
const text = (payload: Payload): string => Buffer.from(payload.data ?? []).toString();
const metadata = (payload: Payload, key: string): string | undefined => {
  const value = payload.metadata?.[key];
  return value ? Buffer.from(value).toString() : undefined;
};

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const codecWith = (currentKeyId: string, keys: Record<string, Buffer>) =>
  new EncryptionCodec({ keys: new Map(Object.entries(keys)), currentKeyId });

describe('the payload codec', () => {
  it('encrypts a payload so that nothing of it is readable, and decrypts it back', async () => {
    const codec = codecWith('2024-01', { '2024-01': oldKey });

    const [encrypted] = await codec.encode([plain()]);

    expect(metadata(encrypted!, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(metadata(encrypted!, 'encryption-key-id')).toBe('2024-01');
    expect(text(encrypted!)).not.toContain('Ada Lovelace');
    expect(text(encrypted!)).not.toContain('json/plain');
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(customer);
  });

  it('uses a fresh IV for every payload: the same value never encrypts the same way twice', async () => {
    const codec = codecWith('k', { k: oldKey });
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('after a rotation, decrypts payloads of the old key and encrypts with the new one', async () => {
    const [fromLastYear] = await codecWith('old', { old: oldKey }).encode([plain()]);
    const rotated = codecWith('new', { old: oldKey, new: newKey });

    const [decoded] = await rotated.decode([fromLastYear!]);
    const [fresh] = await rotated.encode([plain()]);

    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(customer);
    expect(metadata(fresh!, 'encryption-key-id')).toBe('new');
  });

  it('names the key id when a payload was encrypted with a key it does not have', async () => {
    const [encrypted] = await codecWith('retired', { retired: oldKey }).encode([plain()]);
    await expect(codecWith('new', { new: newKey }).decode([encrypted!])).rejects.toThrow(
      'a payload is encrypted with key id "retired", which is not configured: add it to PAYLOAD_KEYS',
    );
  });

  it('refuses a tampered ciphertext', async () => {
    const codec = codecWith('k', { k: oldKey });
    const [encrypted] = await codec.encode([plain()]);
    const data = Buffer.from(encrypted!.data!);
    data[20] = data[20]! ^ 0x01;

    await expect(codec.decode([{ ...encrypted!, data }])).rejects.toThrow(/key id "k" failed authentication/);
  });

  it('refuses a payload whose key id was swapped for another configured key', async () => {
    const [encrypted] = await codecWith('a', { a: oldKey }).encode([plain()]);
    const swapped = { ...encrypted!, metadata: { ...encrypted!.metadata, 'encryption-key-id': Buffer.from('b') } };
    await expect(codecWith('a', { a: oldKey, b: newKey }).decode([swapped])).rejects.toThrow(/failed authentication/);
  });

  it('passes plain payloads through, so histories recorded before encryption still decode', async () => {
    const payload = plain();
    const [decoded] = await codecWith('k', { k: oldKey }).decode([payload]);
    expect(decoded).toBe(payload);
  });
});

describe('payload key configuration', () => {
  const key = (bytes = 32) => randomBytes(bytes).toString('base64');
  const problemsOf = configProblems;

  it('reads several keys and the current one', () => {
    const config = loadConfig({ PAYLOAD_KEYS: `a:${key()}, b:${key()}`, PAYLOAD_KEY_ID: 'b' });
    expect([...config.payloads.keys.keys()]).toEqual(['a', 'b']);
    expect(config.payloads.currentKeyId).toBe('b');
  });

  it.each([
    ['a key of the wrong size', `a:${key(16)}`, 'a', 'PAYLOAD_KEYS key "a" must be exactly 32 bytes, base64-encoded'],
    ['a key id given twice', `a:${key()},a:${key()}`, 'a', 'PAYLOAD_KEYS names key id "a" twice'],
    [
      'an entry without an id',
      key(),
      'a',
      'PAYLOAD_KEYS must be id:base64 entries separated by commas (ids: A-Z a-z 0-9 . _ -)',
    ],
    [
      'a current key that is not among the keys',
      `a:${key()}`,
      'b',
      'PAYLOAD_KEY_ID must name one of the keys in PAYLOAD_KEYS',
    ],
  ])('refuses %s', (_case, keys, current, expected) => {
    expect(problemsOf({ PAYLOAD_KEYS: keys, PAYLOAD_KEY_ID: current })).toEqual([expected]);
  });

  it('never echoes key material', () => {
    const secret = key(31);
    expect(problemsOf({ PAYLOAD_KEYS: `a:${secret}`, PAYLOAD_KEY_ID: 'a' }).join()).not.toContain(secret);
  });

  it('refuses the public development key in production, even under another id', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'PAYLOAD_KEYS holds the public development key, which production refuses: set your own keys',
    ]);
    const developmentKey = loadConfig({}).payloads.keys.get('dev')!.toString('base64');
    expect(
      problemsOf({ NODE_ENV: 'production', PAYLOAD_KEYS: `prod:${developmentKey}`, PAYLOAD_KEY_ID: 'prod' }),
    ).toHaveLength(1);
    expect(loadConfig({ NODE_ENV: 'production', PAYLOAD_KEYS: `prod:${key()}`, PAYLOAD_KEY_ID: 'prod' }).env).toBe(
      'production',
    );
  });
});
