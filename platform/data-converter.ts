import type { DataConverter } from '@temporalio/common';
import { loadConfig, type Config } from './config';
import { EncryptionCodec } from './payload-codec';

/**
 * The one data converter of every process that talks to Temporal: the worker, the API's client,
 * the CLI (replay, history export, saga inspect) and the codec server. Payloads are JSON as by
 * default, then encrypted; plain payloads of older histories still decode.
 *
 * Code of your own that reads shopflow's histories (a replay with the SDK, see docs/replay.md)
 * takes it from `shopflowDataConverter`, given the keys the worker has.
 */
export function createDataConverter(config: Pick<Config, 'payloads'>): DataConverter {
  return { payloadCodecs: [createPayloadCodec(config)] };
}

export function createPayloadCodec(config: Pick<Config, 'payloads'>): EncryptionCodec {
  return new EncryptionCodec({ keys: config.payloads.keys, currentKeyId: config.payloads.currentKeyId });
}

/** The two settings the converter needs, named and written as in the worker's environment. */
export interface PayloadKeySettings {
  /** `id:base64,…`: every key a payload may be encrypted with (unset: the development key). */
  PAYLOAD_KEYS?: string | undefined;
  /** The key that encrypts; one of PAYLOAD_KEYS (unset: `dev`). */
  PAYLOAD_KEY_ID?: string | undefined;
}

/**
 * shopflow's data converter from the payload keys alone, for code outside shopflow's processes:
 * `shopflowDataConverter(process.env)`, or the two values spelled out. The keys are checked as at
 * start-up; a bad one throws a ConfigError naming the variable. Nothing else of the environment
 * is read.
 */
export function shopflowDataConverter({ PAYLOAD_KEYS, PAYLOAD_KEY_ID }: PayloadKeySettings): DataConverter {
  return createDataConverter(loadConfig({ PAYLOAD_KEYS, PAYLOAD_KEY_ID }));
}
