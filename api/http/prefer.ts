/**
 * The `Prefer` request header (RFC 7240): what a client would like the server to do, which the
 * server may or may not honour, and `Preference-Applied`, the answer saying what it honoured.
 *
 * shopflow reads one preference, `wait` (RFC 7240 §4.3): how many seconds a read that names
 * positions in `Shopflow-Min-Position` may wait for the read model to reach them. A client that
 * follows an order lets one request wait (a long poll) instead of asking again and again.
 *
 * A preference is a request, not a command: one that does not parse is ignored (RFC 7240 §2, "a
 * server that does not understand or cannot comply with a preference MUST ignore it"), never
 * refused, and `Preference-Applied` then does not name it.
 */

export const PREFER_HEADER = 'Prefer';
export const PREFERENCE_APPLIED_HEADER = 'Preference-Applied';

/** RFC 7230's token, the name of a preference. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** RFC 7240's delta-seconds: one or more digits. */
const DELTA_SECONDS = /^\d+$/;

/**
 * The value of each preference the header(s) name, by lower-cased name; only the first instance of
 * a name counts (RFC 7240 §2). A preference without a value maps to ''. Parameters after `;` are
 * not used by any preference shopflow reads, and are dropped.
 */
export function parsePreferences(header: string | readonly string[] | undefined): Map<string, string> {
  const preferences = new Map<string, string>();
  const text = typeof header === 'string' ? header : (header ?? []).join(',');
  for (const preference of text.split(',')) {
    const [head = ''] = preference.split(';');
    const equals = head.indexOf('=');
    const name = (equals < 0 ? head : head.slice(0, equals)).trim().toLowerCase();
    if (!TOKEN.test(name) || preferences.has(name)) continue;
    const raw = equals < 0 ? '' : head.slice(equals + 1).trim();
    preferences.set(name, raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
  }
  return preferences;
}

/** `wait=<seconds>` in milliseconds, or undefined when the header has no well-formed `wait`. */
export function preferredWaitMs(header: string | readonly string[] | undefined): number | undefined {
  const value = parsePreferences(header).get('wait');
  if (value === undefined || !DELTA_SECONDS.test(value)) return undefined;
  const seconds = Number(value);
  return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
}
