import { ClaimPacer } from '../../events/claim-pacer';

describe('ClaimPacer: claims woken by NOTIFY start on ticks shared by the relay loops of a process', () => {
  it('paces one loop alone as before: its last start plus the interval, or now when that has passed', () => {
    const pacer = new ClaimPacer(100);
    expect(pacer.reserve(1_100, 1_000)).toBe(1_100);
    // Its next round began at 1_100: its own rule says 1_200.
    expect(pacer.reserve(1_200, 1_150)).toBe(1_200);
    // A round that began off the ticks (a full batch at 1_230): its own rule again, 1_330.
    expect(pacer.reserve(1_330, 1_260)).toBe(1_330);
    // Quiet for a while: the earliest allowed start is long past, so it claims at once.
    expect(pacer.reserve(1_430, 5_000)).toBe(5_000);
  });

  it('starts the claims of several loops woken within an interval on one tick, no sooner than any one would alone', () => {
    const pacer = new ClaimPacer(100);
    // One loop claims at once after a quiet spell: a tick at 1_000.
    expect(pacer.reserve(0, 1_000)).toBe(1_000);
    // Three others woken by NOTIFYs meanwhile join the next tick, not one each.
    expect([1_010, 1_040, 1_090].map((now) => pacer.reserve(0, now))).toEqual([1_100, 1_100, 1_100]);
    // The first loop's own rule (1_100) is that tick too.
    expect(pacer.reserve(1_100, 1_095)).toBe(1_100);
    // A loop whose own rule falls between ticks waits for the next one.
    expect(pacer.reserve(1_150, 1_120)).toBe(1_200);
  });

  it('never gives a start in the past, and claims on every NOTIFY with an interval of 0', () => {
    const pacer = new ClaimPacer(100);
    expect(pacer.reserve(0, 2_000)).toBe(2_000);
    expect(pacer.reserve(0, 2_010)).toBe(2_100);
    const eager = new ClaimPacer(0);
    expect([eager.reserve(0, 10), eager.reserve(0, 10), eager.reserve(5, 11)]).toEqual([10, 10, 11]);
  });
});
