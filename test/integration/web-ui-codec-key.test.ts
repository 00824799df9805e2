import { createApiKeyAuthenticator, listApiKeys } from '../../access/api-keys';
import { mintWebUiCodecKey, WEB_UI_CODEC_KEY_NAME } from '../../dev/web-ui-codec-key';
import { createDatabase } from '../../platform/database';
import { testConfig } from '../support/platform';

/**
 * The operator key `npm start` gives the Web UI's codec endpoint lives for one run: minted at
 * start, revoked at stop, and one left by a killed run is revoked by the next run's mint.
 */
describe('the Web UI codec key of npm start', () => {
  const config = testConfig();
  const db = createDatabase(config);
  const keys = createApiKeyAuthenticator(db, { cacheTtlMs: 0 });
  afterAll(() => db.$disconnect());

  const live = async () =>
    (await listApiKeys(db, { role: 'operator' })).filter((k) => k.name === WEB_UI_CODEC_KEY_NAME).map((k) => k.id);

  it("is an operator's key while the run lasts, and revoked when it stops", async () => {
    const minted = await mintWebUiCodecKey(config, config.database.url);
    expect(await keys.authenticate(minted.key)).toEqual({ role: 'operator', keyId: minted.keyId });
    expect(await live()).toEqual([minted.keyId]);

    await minted.revoke();
    expect(await keys.authenticate(minted.key)).toBeUndefined();
    expect(await live()).toEqual([]);
  });

  it('revokes the key of a run that was killed before it could revoke its own', async () => {
    const killedRun = await mintWebUiCodecKey(config, config.database.url);
    const nextRun = await mintWebUiCodecKey(config, config.database.url);

    expect(await keys.authenticate(killedRun.key)).toBeUndefined();
    expect(await keys.authenticate(nextRun.key)).toMatchObject({ role: 'operator' });
    expect(await live()).toEqual([nextRun.keyId]);
    await nextRun.revoke();
    // The killed run's client was never closed by a revoke: close it as its process exit would.
    await killedRun.revoke();
  });
});
