import { createApiKey, listApiKeys, revokeApiKey } from '../access/api-keys';
import type { Config } from '../platform/config';
import { createDatabase } from '../platform/database';

/**
 * The operator API key that `npm start` puts in the dev server's Web UI codec endpoint
 * (`http://codec-host:port/<key>`), so that the UI shows payloads decrypted at once. The codec
 * server takes operators' API keys only, and the UI cannot send a header, so the key sits in the
 * endpoint, readable by whoever opens that UI (the dev server's UI has no login). It therefore
 * lives for one run: minted at start, revoked when `npm start` stops. A run that was killed could
 * not revoke its key; the next run revokes every key of this name before it mints its own.
 */

export const WEB_UI_CODEC_KEY_NAME = 'npm start: the Web UI codec endpoint (revoked when npm start stops)';

export interface WebUiCodecKey {
  key: string;
  keyId: string;
  /** Revokes the key and closes the connection it was made on. */
  revoke(): Promise<void>;
}

export async function mintWebUiCodecKey(config: Pick<Config, 'database'>, databaseUrl: string): Promise<WebUiCodecKey> {
  const db = createDatabase({ database: { ...config.database, url: databaseUrl, poolSize: 1 } });
  try {
    for (const left of await listApiKeys(db, { role: 'operator' })) {
      if (left.name === WEB_UI_CODEC_KEY_NAME) await revokeApiKey(db, left.id);
    }
    const { key, record } = await createApiKey(db, { role: 'operator', name: WEB_UI_CODEC_KEY_NAME });
    return {
      key,
      keyId: record.id,
      async revoke() {
        try {
          await revokeApiKey(db, record.id);
        } finally {
          await db.$disconnect();
        }
      },
    };
  } catch (error) {
    await db.$disconnect();
    throw error;
  }
}
