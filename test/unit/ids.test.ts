import { isUuid, probeIdFromWorkflowId, probeWorkflowId, stepIdempotencyKey } from '../../domain/ids';

describe('ids', () => {
  const id = '0b6f3a8e-4c1d-4e7a-9f5b-2d3c4e5f6a7b';

  it('maps a probe id to its workflow id and back', () => {
    expect(probeIdFromWorkflowId(probeWorkflowId(id))).toBe(id);
  });

  it('rejects workflow ids that are not probes', () => {
    expect(probeIdFromWorkflowId(`order-${id}`)).toBeUndefined();
    expect(probeIdFromWorkflowId('probe-not-a-uuid')).toBeUndefined();
  });

  it('recognises UUIDs only', () => {
    expect(isUuid(id)).toBe(true);
    expect(isUuid(`${id}0`)).toBe(false);
  });

  it('derives one idempotency key per workflow and step', () => {
    expect(stepIdempotencyKey('probe-1', 'record')).toBe('probe-1:record');
    expect(stepIdempotencyKey('probe-1', 'record')).not.toBe(stepIdempotencyKey('probe-2', 'record'));
  });
});
