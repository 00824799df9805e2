import pino from 'pino';
import { canonicalJson, parseIdempotencyKey, requestHash } from '../../api/orders/idempotency';
import { startIdempotencySweeper } from '../../api/orders/idempotency-sweeper';
import { HttpProblem } from '../../api/http/problem';

describe('request hash', () => {
  it('is the same whatever the key order, at every depth', () => {
    const a = { customerId: 'c', items: [{ productId: 'p', quantity: 1 }], payment: { token: 'tok_x' } };
    const b = { payment: { token: 'tok_x' }, items: [{ quantity: 1, productId: 'p' }], customerId: 'c' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(requestHash(a)).toBe(requestHash(b));
  });

  it('sorts keys and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: null, c: 'x' }] })).toBe('{"a":[3,{"c":"x","d":null}],"b":1}');
    expect(requestHash([1, 2])).not.toBe(requestHash([2, 1]));
  });

  it('differs when any value differs', () => {
    expect(requestHash({ items: [{ quantity: 1 }] })).not.toBe(requestHash({ items: [{ quantity: 2 }] }));
    expect(requestHash({ quantity: 1 })).not.toBe(requestHash({ quantity: '1' }));
  });

  it('ignores absent optional fields, as JSON does', () => {
    expect(requestHash({ line1: 'x', line2: undefined })).toBe(requestHash({ line1: 'x' }));
  });

  it('is a sha256 in hex', () => {
    expect(requestHash({})).toMatch(/^[0-9a-f]{64}$/);
    // sha256('{}')
    expect(requestHash({})).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});

describe('Idempotency-Key header', () => {
  it.each(['a', 'order-2026-11-25:retry.1', 'A_b-C:d.E', 'k'.repeat(255)])('accepts %p', (key) => {
    expect(parseIdempotencyKey(key)).toBe(key);
  });

  it.each([
    [undefined, 'is required'],
    ['', 'is required'],
    ['k'.repeat(256), 'must be 1 to 255 characters'],
    ['has space', 'must be 1 to 255 characters'],
    ['ünïcode', 'must be 1 to 255 characters'],
    ['a/b', 'must be 1 to 255 characters'],
    [['a', 'b'], 'must be given once'],
  ])('refuses %p with a 400 naming the header', (header, message) => {
    let problem: unknown;
    try {
      parseIdempotencyKey(header);
    } catch (error) {
      problem = error;
    }
    expect(problem).toBeInstanceOf(HttpProblem);
    const { status, errors } = problem as HttpProblem;
    expect(status).toBe(400);
    expect(errors).toEqual([{ field: 'header.Idempotency-Key', message: expect.stringContaining(message) }]);
  });
});

describe('idempotency sweeper', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sweeps once per interval until stopped, and survives a failed sweep', async () => {
    const sweepExpired = jest.fn().mockRejectedValueOnce(new Error('database away')).mockResolvedValue(2);
    const sweeper = startIdempotencySweeper({ sweepExpired }, 1_000, pino({ level: 'silent' }));

    await jest.advanceTimersByTimeAsync(3_500);
    expect(sweepExpired).toHaveBeenCalledTimes(3);

    await sweeper.stop();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(sweepExpired).toHaveBeenCalledTimes(3);
  });

  it('never runs two sweeps at once', async () => {
    let finish: () => void = () => undefined;
    const sweepExpired = jest.fn(
      () =>
        new Promise<number>((resolve) => {
          finish = () => resolve(0);
        }),
    );
    const sweeper = startIdempotencySweeper({ sweepExpired }, 1_000, pino({ level: 'silent' }));

    await jest.advanceTimersByTimeAsync(5_000);
    expect(sweepExpired).toHaveBeenCalledTimes(1);

    finish();
    await sweeper.stop();
  });
});
