import type { DataConverter } from '@temporalio/common';
import type { Config } from './config';
import { EncryptionCodec } from './payload-codec';

/**
 * The one data converter of every process that talks to Temporal: the worker, the API's client,
 * the CLI (replay, history export, saga inspect) and the codec server. Payloads are JSON as by
 * default, then encrypted; plain payloads of older histories still decode.
 */
export function createDataConverter(config: Pick<Config, 'payloads'>): DataConverter {
  return { payloadCodecs: [createPayloadCodec(config)] };
}

export function createPayloadCodec(config: Pick<Config, 'payloads'>): EncryptionCodec {
  return new EncryptionCodec({ keys: config.payloads.keys, currentKeyId: config.payloads.currentKeyId });
}
