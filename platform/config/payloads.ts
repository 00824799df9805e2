import { z } from 'zod';
import { nonEmpty, port } from './values';
import { area, variable } from './variable';

/**
 * The development payload key: public (it is in this file and in `.env.example`), so it encrypts
 * nothing worth hiding. It lets `npm start` and the tests work out of the box; production refuses it
 * (see loadConfig).
 */
export const developmentPayloadKey = 'ATFCIo7zQ+U12Fj/o9/KKC+AMJfHHzq1npxm/dwi5ps=';
const payloadKeyIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

/** `id:base64,id:base64`: every AES-256 key (32 bytes) a payload in some history may be encrypted with. */
const payloadKeys = z.string().transform((value, ctx): ReadonlyMap<string, Buffer> => {
  const keys = new Map<string, Buffer>();
  for (const entry of value.split(',').map((e) => e.trim())) {
    const separator = entry.indexOf(':');
    const id = separator === -1 ? '' : entry.slice(0, separator);
    const material = entry.slice(separator + 1);
    // Key material is never echoed in a message, only the key's id.
    if (!payloadKeyIdPattern.test(id)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be id:base64 entries separated by commas (ids: A-Z a-z 0-9 . _ -)',
      });
    } else if (keys.has(id)) {
      ctx.addIssue({ code: 'custom', message: `names key id "${id}" twice` });
    } else if (!/^[A-Za-z0-9+/]+={0,2}$/.test(material) || Buffer.from(material, 'base64').length !== 32) {
      ctx.addIssue({ code: 'custom', message: `key "${id}" must be exactly 32 bytes, base64-encoded` });
    } else {
      keys.set(id, Buffer.from(material, 'base64'));
    }
  }
  return keys;
});

/** Web origins separated by commas, read as a list. */
const originList = z
  .string()
  .refine(
    (value) =>
      value.split(',').every((origin) => {
        try {
          return new URL(origin.trim()).origin === origin.trim();
        } catch {
          return false;
        }
      }),
    { message: 'must be origins separated by commas, e.g. http://127.0.0.1:8233' },
  )
  .transform((value) => value.split(',').map((origin) => origin.trim()));

/** AES-256-GCM keys of the payload codec (platform/payload-codec.ts): all decrypt, the current one encrypts. */
export const payloads = area(
  {
    title: 'Payload encryption',
    intro:
      "AES-256-GCM encryption of everything shopflow puts in Temporal's history. Every key decrypts, " +
      '`PAYLOAD_KEY_ID` encrypts. To rotate: add the new key, make it current, and keep the old ones while ' +
      'histories encrypted with them are kept. A key is 32 random bytes in base64: `openssl rand -base64 32` makes one.',
  },
  {
    keys: variable('PAYLOAD_KEYS', payloadKeys, {
      default: `dev:${developmentPayloadKey}`,
      description:
        'the keys as `id:base64`, separated by commas; the default `dev` key is public: production refuses it',
      secret: true,
    }),
    currentKeyId: variable(
      'PAYLOAD_KEY_ID',
      z.string().regex(payloadKeyIdPattern, 'must be a key id (A-Z a-z 0-9 . _ -)'),
      {
        default: 'dev',
        description: 'the key in `PAYLOAD_KEYS` that encrypts new payloads',
      },
    ),
  },
);

/** The codec server the Web UI decrypts payloads through; operators' API keys are its credentials. */
export const codecServer = area(
  {
    title: 'Codec server',
    intro:
      'The server (`npm run codec-server`, started by `npm start`) through which the Temporal Web UI decrypts payloads.',
  },
  {
    host: variable('CODEC_SERVER_HOST', nonEmpty, {
      default: '127.0.0.1',
      description: "the codec server's listening address",
    }),
    port: variable('CODEC_SERVER_PORT', port, { default: '8234', description: "the codec server's port" }),
    corsOrigins: variable('CODEC_CORS_ORIGINS', originList, {
      default: 'http://127.0.0.1:8233,http://localhost:8233',
      description: "web origins (the Web UI's) allowed to call the codec server; `npm start` adds its own UI's",
    }),
  },
);
