import type { History } from '@temporalio/common/lib/proto-utils';
import { ENCRYPTED_ENCODING, METADATA_ENCRYPTION_KEY_ID } from '../platform/payload-codec';

/**
 * Which encryption keys a history's payloads were encrypted with, read off the payloads' metadata
 * (`encryption-key-id`, platform/payload-codec.ts) without decrypting anything: what an operator
 * needs to know before retiring a key (a key still named here cannot go while the history is kept)
 * and what a history that will not decode or replay is missing.
 */
export interface PayloadKeyUse {
  /** Encrypted payloads per key id. */
  byKeyId: Record<string, number>;
  /** Payloads in clear: search attributes (the server indexes them), and any written before encryption. */
  unencrypted: number;
}

const text = (bytes: unknown): string | undefined =>
  bytes instanceof Uint8Array ? Buffer.from(bytes).toString() : typeof bytes === 'string' ? bytes : undefined;

/** A Temporal Payload, wherever it sits in an event: `metadata` of byte strings beside `data`. */
function isPayload(value: object): value is { metadata: Record<string, unknown> } {
  const { metadata } = value as { metadata?: unknown };
  return (
    typeof metadata === 'object' &&
    metadata !== null &&
    !Array.isArray(metadata) &&
    'data' in value &&
    Object.values(metadata).every((v) => v instanceof Uint8Array || typeof v === 'string')
  );
}

/** Counts every payload of every event, however deep (inputs, results, failures' details, memo, headers). */
export function payloadKeyUse(history: History): PayloadKeyUse {
  const use: PayloadKeyUse = { byKeyId: {}, unencrypted: 0 };
  const seen = new Set<object>();
  const walk = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || value instanceof Uint8Array || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      value.forEach(walk);
      return;
    }
    if (isPayload(value)) {
      const keyId = text(value.metadata[METADATA_ENCRYPTION_KEY_ID]);
      if (text(value.metadata['encoding']) === ENCRYPTED_ENCODING && keyId !== undefined) {
        use.byKeyId[keyId] = (use.byKeyId[keyId] ?? 0) + 1;
      } else {
        use.unencrypted += 1;
      }
      return;
    }
    for (const child of Object.values(value)) walk(child);
  };
  walk(history.events ?? []);
  return use;
}
