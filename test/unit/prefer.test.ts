import { parsePreferences, preferredWaitMs } from '../../api/http/prefer';

describe('Prefer (RFC 7240)', () => {
  it('reads wait=<seconds> in milliseconds, with or without quotes, in any case and among other preferences', () => {
    expect(preferredWaitMs('wait=30')).toBe(30_000);
    expect(preferredWaitMs('WAIT = "5"')).toBe(5_000);
    expect(preferredWaitMs('respond-async, wait=10')).toBe(10_000);
    expect(preferredWaitMs(['handling=lenient', 'wait=0'])).toBe(0);
    expect(preferredWaitMs('wait=7; foo=bar')).toBe(7_000);
  });

  it('considers only the first instance of a preference', () => {
    expect(preferredWaitMs('wait=3, wait=100')).toBe(3_000);
  });

  it('ignores a wait that is not delta-seconds, and an absent header', () => {
    for (const ignored of ['wait=soon', 'wait=-1', 'wait=1.5', 'wait=', 'wait', 'wait=1e3', `wait=${'9'.repeat(20)}`]) {
      expect(preferredWaitMs(ignored)).toBeUndefined();
    }
    expect(preferredWaitMs(undefined)).toBeUndefined();
    expect(preferredWaitMs('respond-async')).toBeUndefined();
  });

  it('keeps names that are tokens and drops the rest', () => {
    expect([...parsePreferences('respond-async, "quoted"=1, return=minimal; x=y, ,')]).toEqual([
      ['respond-async', ''],
      ['return', 'minimal'],
    ]);
  });
});
