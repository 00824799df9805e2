import { z } from 'zod';

/**
 * The kinds of value settings take, each with the message a bad value gets. A message names what
 * is expected and never echoes the value: URLs may carry passwords, keys are secrets.
 */

export const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(1, 'must be between 1 and 65535')
  .max(65535, 'must be between 1 and 65535');

export const positiveMs = z.coerce
  .number({ error: 'must be a number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .positive('must be greater than 0');

export const nonNegativeMs = z.coerce
  .number({ error: 'must be a number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .min(0, 'must be 0 or more');

export function countBetween(min: number, max: number) {
  return z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be between ${min} and ${max}`)
    .max(max, `must be between ${min} and ${max}`);
}

export const nonEmpty = z.string().min(1, 'must not be empty');

export const booleanFlag = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

/** A URL with one of the given schemes. */
export function serviceUrl(schemes: string[]) {
  const expected = schemes.map((s) => `${s}://`).join(' or ');
  return z.string().refine(
    (value) => {
      try {
        const url = new URL(value);
        return schemes.includes(url.protocol.replace(/:$/, '')) && url.hostname !== '';
      } catch {
        return false;
      }
    },
    { message: `must be a ${expected} URL with a host` },
  );
}

export const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233');

/** A comma-separated list of host:port, e.g. `10.0.0.1:7000,10.0.0.2:7000`; empty reads as none. */
export const hostPortList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  )
  .pipe(z.array(hostPort));
