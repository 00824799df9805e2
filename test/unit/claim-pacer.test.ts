import { ClaimPacer } from '../../events/claim-pacer';

describe('ClaimPacer: claims woken by NOTIFY, spaced across the relay loops of a process', () => {
  it('paces one loop alone as before: its last start plus the interval, or now when that has passed', () => {
    const pacer = new ClaimPacer(100);
    expect(pacer.reserve(1_100, 1_000)).toBe(1_100);
    // The loop's next round began at 1_150: its own rule (1_250) is later than the pacer's (1_200).
    expect(pacer.reserve(1_250, 1_160)).toBe(1_250);
    // Quiet for a while: the earliest allowed start is long past, so it claims at once.
    expect(pacer.reserve(1_400, 5_000)).toBe(5_000);
  });

  it('spaces the loops of several databases one interval apart, so N shards claim as often as one database', () => {
    const pacer = new ClaimPacer(100);
    // Four loops woken by NOTIFYs at the same moment, each free to claim by its own rule.
    const slots = [0, 1, 2, 3].map(() => pacer.reserve(1_000, 1_000));
    expect(slots).toEqual([1_000, 1_100, 1_200, 1_300]);
    // The next reservation, whoever asks, comes after the last one given.
    expect(pacer.reserve(1_050, 1_050)).toBe(1_400);
  });

  it('never gives a start in the past, so the spacing counts from when a claim really starts', () => {
    const pacer = new ClaimPacer(100);
    expect(pacer.reserve(0, 2_000)).toBe(2_000);
    expect(pacer.reserve(0, 2_010)).toBe(2_100);
  });
});
