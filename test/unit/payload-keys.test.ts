import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import { payloadKeyUse } from '../../cli/payload-keys';
import { EncryptionCodec } from '../../platform/payload-codec';

describe('payloadKeyUse: the key ids of a history, read off its payloads without decrypting', () => {
  const keys = new Map([
    ['k1', randomBytes(32)],
    ['k2', randomBytes(32)],
  ]);
  const encryptWith = async (currentKeyId: string, value: unknown) =>
    (await new EncryptionCodec({ keys, currentKeyId }).encode([defaultPayloadConverter.toPayload(value)]))[0]!;

  it('counts encrypted payloads per key id, wherever they sit, and clear ones apart', async () => {
    const history = {
      events: [
        {
          workflowExecutionStartedEventAttributes: {
            input: { payloads: [await encryptWith('k1', { order: 1 })] },
            // Search attributes stay readable for the server to index.
            searchAttributes: { indexedFields: { OrderStatus: defaultPayloadConverter.toPayload('PENDING') } },
          },
        },
        { activityTaskCompletedEventAttributes: { result: { payloads: [await encryptWith('k1', 'charged')] } } },
        {
          workflowExecutionSignaledEventAttributes: {
            input: { payloads: [await encryptWith('k2', { delivered: true })] },
            header: { fields: { trace: await encryptWith('k2', 'abc') } },
          },
        },
        {
          activityTaskFailedEventAttributes: {
            failure: { applicationFailureInfo: { details: { payloads: [await encryptWith('k2', 'declined')] } } },
          },
        },
      ],
    } as unknown as History;

    expect(payloadKeyUse(history)).toEqual({ byKeyId: { k1: 2, k2: 3 }, unencrypted: 1 });
  });

  it('finds nothing in a history without events', () => {
    expect(payloadKeyUse({})).toEqual({ byKeyId: {}, unencrypted: 0 });
  });
});
