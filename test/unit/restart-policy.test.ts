import { RestartPolicy } from '../../dev/restart-policy';

/** How `npm start` answers a child's death: back off, and give up on one that keeps dying. */
describe('restart policy', () => {
  it('doubles the delay with each failure of the last minute and gives up at the fifth', () => {
    const policy = new RestartPolicy();
    const decisions = [0, 1_000, 3_000, 7_000, 12_000].map((at) => policy.onFailure(at));
    expect(decisions).toEqual([
      { restart: true, failures: 1, delayMs: 500 },
      { restart: true, failures: 2, delayMs: 1_000 },
      { restart: true, failures: 3, delayMs: 2_000 },
      { restart: true, failures: 4, delayMs: 4_000 },
      { restart: false, failures: 5 },
    ]);
  });

  it('forgets failures older than a minute: a child that fails now and then is always restarted', () => {
    const policy = new RestartPolicy();
    const decisions = Array.from({ length: 10 }, (_, hour) => policy.onFailure(hour * 3_600_000));
    expect(decisions.every((decision) => decision.restart && decision.delayMs === 500)).toBe(true);
  });

  it('caps the delay when more failures are allowed', () => {
    const policy = new RestartPolicy({ firstDelayMs: 500, maxDelayMs: 3_000, maxFailures: 10, windowMs: 60_000 });
    const delays = Array.from({ length: 6 }, (_, i) => policy.onFailure(i)).map((d) => (d.restart ? d.delayMs : 0));
    expect(delays).toEqual([500, 1_000, 2_000, 3_000, 3_000, 3_000]);
  });
});
