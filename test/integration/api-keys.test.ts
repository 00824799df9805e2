import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import request from 'supertest';
import { revokeApiKey } from '../../access/api-keys';
import { createCustomer, createSeller } from '../support/catalogue';
import { eventually, startApi, testConfig, type TestPlatform } from '../support/platform';
import { entryEnv, repoRoot } from '../support/processes';

/**
 * API keys as an operator manages them: `shopflow apikey create|list|revoke` run for real against
 * the test database, what is stored (a SHA-256 of the key, never the key), and how a revocation
 * reaches the API (at once without the key cache, within API_KEY_CACHE_TTL_MS with it).
 */

function shopflow(...args: string[]) {
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'cli', 'bin.js'), ...args], {
    env: entryEnv({ LOG_LEVEL: 'error' }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const lookupIdOf = (key: string): string => key.split('_')[1]!;
/** All after `sfk_<lookup id>_`: the secret's base64url may itself hold `_`, so not what follows the last one. */
const secretOf = (key: string): string => key.slice(`sfk_${lookupIdOf(key)}_`.length);
const KEY = /^sfk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

/** Creates a key with the CLI and returns it: the one line it printed. */
function createKey(...args: string[]): string {
  const run = shopflow('apikey', 'create', ...args);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('created') });
  const lines = run.stdout.split('\n');
  // Exactly one line, the key, and nothing else: scripts capture it with $(…).
  expect(lines).toEqual([expect.stringMatching(KEY), '']);
  return lines[0]!;
}

describe('API keys', () => {
  let api: TestPlatform;
  let customerId: string;
  let sellerId: string;

  const search = (app: TestPlatform['bareApp'], key: string) =>
    request(app).get('/v1/products/search').set('Authorization', `Bearer ${key}`);
  const rowOf = async (key: string) => {
    const [found] = await api.deps.db.$queryRawUnsafe<{ row: Record<string, unknown> }[]>(
      'SELECT to_jsonb(k) AS row FROM api_keys k WHERE lookup_id = $1',
      lookupIdOf(key),
    );
    return found!.row;
  };

  beforeAll(async () => {
    // No key cache: what the database says is what the API answers.
    api = await startApi(testConfig({ API_KEY_CACHE_TTL_MS: '0' }));
    customerId = (await createCustomer(api.deps.db)).id;
    sellerId = (await createSeller(api.deps.db)).id;
  });
  afterAll(async () => {
    await api?.close();
  });

  it('create prints the key once; the database keeps its SHA-256 and nothing else of it', async () => {
    const key = createKey('--role', 'customer', '--customer', customerId, '--name', 'storefront');

    const row = await rowOf(key);
    expect(row).toMatchObject({
      lookup_id: lookupIdOf(key),
      secret_hash: sha256(key),
      role: 'customer',
      customer_id: customerId,
      seller_id: null,
      name: 'storefront',
      revoked_at: null,
      last_used_at: null,
    });
    const secret = secretOf(key);
    for (const [column, value] of Object.entries(row)) {
      expect({ column, holdsTheKey: String(value).includes(secret) }).toEqual({ column, holdsTheKey: false });
    }
    await search(api.bareApp, key).expect(200);
  });

  it('list --json shows every key but never a key or its hash', () => {
    const key = createKey('--role', 'seller', '--seller', sellerId);

    const run = shopflow('apikey', 'list', '--json', '--all');

    expect(run.status).toBe(0);
    expect(run.stdout).not.toContain(key);
    expect(run.stdout).not.toContain(secretOf(key));
    expect(run.stdout).not.toContain(sha256(key));
    const listed = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(listed.find((k) => k['lookupId'] === lookupIdOf(key))).toEqual({
      id: expect.any(String),
      lookupId: lookupIdOf(key),
      role: 'seller',
      customerId: null,
      sellerId,
      name: 'seller key',
      createdAt: expect.any(String),
      revokedAt: null,
      lastUsedAt: null,
    });
    const human = shopflow('apikey', 'list', '--role', 'seller');
    expect(human.status).toBe(0);
    expect(human.stdout).toContain(`sfk_${lookupIdOf(key)}_…`);
    expect(human.stdout).not.toContain(sha256(key));
  });

  it.each([
    ['its id', (_key: string, id: string) => id],
    ['its lookup id', (key: string) => lookupIdOf(key)],
  ])('revoke by %s: the key is refused with 401 from the next request on', async (_by, target) => {
    const key = createKey('--role', 'operator');
    await search(api.bareApp, key).expect(200);
    const id = String((await rowOf(key))['id']);

    const run = shopflow('apikey', 'revoke', target(key, id));

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^revoked ${id} .*revoked \\d{4}-`));
    const revokedAt = (await rowOf(key))['revoked_at'];
    expect(revokedAt).not.toBeNull();
    const refused = await search(api.bareApp, key).expect(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(refused.body.type).toBe('https://shopflow.dev/problems/unauthorized');
    // Revoking twice is not an error: the first revocation is kept.
    const again = shopflow('apikey', 'revoke', lookupIdOf(key));
    expect(again.status).toBe(0);
    expect((await rowOf(key))['revoked_at']).toBe(revokedAt);
  });

  it('with the key cache on, a revoked key keeps working until its answer expires, then gets 401', async () => {
    // Long enough that the request right after the revocation is surely inside it on a busy machine.
    const cached = await startApi(testConfig({ API_KEY_CACHE_TTL_MS: '2000' }));
    try {
      const key = await cached.keyFor({ role: 'customer', customerId });
      await search(cached.bareApp, key).expect(200);

      await revokeApiKey(cached.deps.db, lookupIdOf(key));

      await search(cached.bareApp, key).expect(200);
      // Without a cache, the same revoked key is already refused.
      await search(api.bareApp, key).expect(401);
      await eventually(async () => ((await search(cached.bareApp, key)).status === 401 ? true : undefined), 10_000);
    } finally {
      await cached.close();
    }
  });

  it('last_used_at is set when a key is used', async () => {
    const key = createKey('--role', 'seller', '--seller', sellerId);
    expect((await rowOf(key))['last_used_at']).toBeNull();

    await search(api.bareApp, key).expect(200);

    // Written beside the request, not before its answer: it lands shortly after.
    const row = await eventually(async () => {
      const current = await rowOf(key);
      return current['last_used_at'] === null ? undefined : current;
    });
    expect(Date.parse(String(row['last_used_at']))).toBeGreaterThanOrEqual(Date.parse(String(row['created_at'])));
  });

  describe('bad input: one line on stderr, exit code 2, no key made', () => {
    const unknownLookupId = randomBytes(8).toString('hex');
    // Other test files make keys in the same database meanwhile, but never with the CLI's default names.
    const keysMadeByTheCli = (since: Date) =>
      api.deps.db.apiKey.count({
        where: { createdAt: { gte: since }, name: { in: ['customer key', 'seller key', 'operator key'] } },
      });

    it.each([
      ['an unknown role', () => ['create', '--role', 'admin'], /argument 'admin' is invalid/],
      ['a customer key without --customer', () => ['create', '--role', 'customer'], /needs --customer/],
      ['--customer that is not a UUID', () => ['create', '--role', 'customer', '--customer', '42'], /must be a UUID/],
      [
        'a customer that does not exist',
        () => ['create', '--role', 'customer', '--customer', randomUUID()],
        /customer [0-9a-f-]{36} does not exist/,
      ],
      ['an operator key with --seller', () => ['create', '--role', 'operator', '--seller', sellerId], /--seller/],
      ['revoke of an unknown id', () => ['revoke', randomUUID()], /no API key [0-9a-f-]{36}/],
      [
        'revoke of an unknown lookup id',
        () => ['revoke', unknownLookupId],
        new RegExp(`no API key ${unknownLookupId}`),
      ],
      ['revoke of something that is no id', () => ['revoke', 'sfk_whole-key'], /neither a key id/],
    ])('%s', async (_what, args, message) => {
      const since = new Date();

      const run = shopflow('apikey', ...args());

      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
      expect(await keysMadeByTheCli(since)).toBe(0);
    });
  });
});
