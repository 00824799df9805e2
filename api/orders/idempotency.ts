import { createHash, randomUUID } from 'node:crypto';
import type { Database } from '../../platform/database';
import { sqlPoolOf } from '../../platform/sql-pool';
import { HttpProblem, problemTypes } from '../http/problem';

/**
 * Idempotency keys with Stripe's semantics, kept in PostgreSQL (`idempotency_keys`).
 *
 * The first request of a key claims it (IN_PROGRESS, locked) and gets a resource id chosen up front;
 * a response stored with the key (COMPLETED) is replayed to every retry with the same body. A retry
 * with another body is refused (422). One that finds the key in progress is told the resource id:
 * the route decides whether the resource already exists, i.e. whether the first request got as far
 * as its effect (then the answer is known; POST /v1/orders stores it only then, so an order costs
 * the key one write, the claim), or is refused (409) until the lock expires, after which it takes
 * the key over and resumes the same resource. Requests rejected before any effect store nothing
 * (the key is abandoned), and expired keys count as absent. Nothing here knows about express:
 * routes call it, tests drive it directly.
 */

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

const KEY_FORMAT = /^[A-Za-z0-9_\-:.]{1,255}$/;

/** The key of a request's `Idempotency-Key` header; a missing or malformed one is a 400 naming the header. */
export function parseIdempotencyKey(header: string | string[] | undefined): string {
  const field = `header.${IDEMPOTENCY_KEY_HEADER}`;
  const invalid = (message: string): HttpProblem =>
    new HttpProblem(
      400,
      problemTypes.validation,
      'Request validation failed',
      `the ${IDEMPOTENCY_KEY_HEADER} header ${message}`,
      [{ field, message }],
    );
  if (header === undefined || header === '') throw invalid('is required');
  if (Array.isArray(header)) throw invalid('must be given once');
  if (!KEY_FORMAT.test(header)) throw invalid('must be 1 to 255 characters of A-Z, a-z, 0-9, _, -, : or .');
  return header;
}

/** JSON with object keys sorted at every depth, so equal bodies serialise equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/** sha256 (hex) of the body's canonical JSON: what "the same request" means for a key. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export type BeginResult =
  /** `resumed`: taken over from an earlier attempt that may have got as far as creating the resource. */
  | { kind: 'started'; resourceId: string; resumed: boolean }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'mismatch' }
  /** `resourceId` is undefined only when the key kept changing hands (see MAX_ROUNDS). */
  | { kind: 'in-progress'; resourceId?: string };

export interface IdempotencyStore {
  /** Claims the key for a request, or says what to answer instead. */
  begin(scope: string, key: string, requestHash: string): Promise<BeginResult>;
  /** Stores the response to replay to retries. */
  complete(scope: string, key: string, status: number, body: unknown): Promise<void>;
  /** For a request rejected before any effect: the key is forgotten, as if never sent. */
  abandon(scope: string, key: string): Promise<void>;
  /** For an unknown outcome: unlocks the key so a retry resumes at once with the same resource id. */
  release(scope: string, key: string): Promise<void>;
  /** Deletes expired keys; returns how many. */
  sweepExpired(now?: Date): Promise<number>;
}

export interface IdempotencyOptions {
  ttlMs: number;
  lockMs: number;
  clock?: () => Date;
}

interface KeyRow {
  request_hash: string;
  state: 'IN_PROGRESS' | 'COMPLETED';
  resource_id: string;
  locked_until: Date;
  response_status: number | null;
  response_body: unknown;
  expires_at: Date;
}

// A key deleted (abandoned, swept) between our insert and our read is claimed again; a handful of
// rounds is plenty, as each round only loses to a request that made progress.
const MAX_ROUNDS = 5;

export function createIdempotencyStore(db: Database, options: IdempotencyOptions): IdempotencyStore {
  const clock = options.clock ?? (() => new Date());
  const later = (from: Date, ms: number): Date => new Date(from.getTime() + ms);

  /** Inserts a fresh claim, or replaces an expired row (which counts as absent) in the same statement. */
  async function claim(scope: string, key: string, hash: string, now: Date): Promise<string | undefined> {
    const resourceId = randomUUID();
    const { rows } = await sqlPoolOf(db).query<{ resource_id: string }>({
      name: 'idempotency-claim',
      text: `INSERT INTO idempotency_keys (scope, key, request_hash, state, resource_id, locked_until, created_at, expires_at)
             VALUES ($1, $2, $3, 'IN_PROGRESS', $4::uuid, $5::timestamptz, $6::timestamptz, $7::timestamptz)
             ON CONFLICT (scope, key) DO UPDATE SET
               request_hash = EXCLUDED.request_hash, state = EXCLUDED.state, resource_id = EXCLUDED.resource_id,
               locked_until = EXCLUDED.locked_until, response_status = NULL, response_body = NULL,
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
             WHERE idempotency_keys.expires_at < $6::timestamptz
             RETURNING resource_id::text AS resource_id`,
      values: [scope, key, hash, resourceId, later(now, options.lockMs), now, later(now, options.ttlMs)],
    });
    return rows[0]?.resource_id;
  }

  /** Takes over an unfinished key whose lock expired; only one of several concurrent retries wins. */
  async function takeOver(scope: string, key: string, hash: string, now: Date): Promise<string | undefined> {
    const rows = await db.$queryRaw<{ resource_id: string }[]>`
      UPDATE idempotency_keys SET locked_until = ${later(now, options.lockMs)}::timestamptz
      WHERE scope = ${scope} AND key = ${key} AND state = 'IN_PROGRESS' AND request_hash = ${hash}
        AND locked_until <= ${now}::timestamptz AND expires_at >= ${now}::timestamptz
      RETURNING resource_id::text AS resource_id`;
    return rows[0]?.resource_id;
  }

  async function read(scope: string, key: string): Promise<KeyRow | undefined> {
    const rows = await db.$queryRaw<KeyRow[]>`
      SELECT request_hash, state, resource_id::text AS resource_id, locked_until, response_status, response_body,
             expires_at
      FROM idempotency_keys WHERE scope = ${scope} AND key = ${key}`;
    return rows[0];
  }

  return {
    async begin(scope, key, hash) {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const now = clock();
        const claimed = await claim(scope, key, hash, now);
        if (claimed !== undefined) return { kind: 'started', resourceId: claimed, resumed: false };

        const row = await read(scope, key);
        if (row === undefined || row.expires_at < now) continue;
        if (row.request_hash !== hash) return { kind: 'mismatch' };
        if (row.state === 'COMPLETED') {
          return { kind: 'replay', status: row.response_status ?? 200, body: row.response_body };
        }
        if (row.locked_until > now) return { kind: 'in-progress', resourceId: row.resource_id };
        const resumed = await takeOver(scope, key, hash, now);
        if (resumed !== undefined) return { kind: 'started', resourceId: resumed, resumed: true };
        // Another retry took it over or it just completed: look again.
      }
      return { kind: 'in-progress' };
    },

    async complete(scope, key, status, body) {
      // Once per order: plain SQL on the pool rather than a Prisma model call.
      await sqlPoolOf(db).query({
        name: 'idempotency-complete',
        text: `UPDATE idempotency_keys SET state = 'COMPLETED', response_status = $3, response_body = $4::jsonb,
                 locked_until = $5::timestamptz
               WHERE scope = $1 AND key = $2 AND state = 'IN_PROGRESS'`,
        values: [scope, key, status, JSON.stringify(body), clock()],
      });
    },

    async abandon(scope, key) {
      await db.idempotencyKey.deleteMany({ where: { scope, key, state: 'IN_PROGRESS' } });
    },

    async release(scope, key) {
      await db.idempotencyKey.updateMany({
        where: { scope, key, state: 'IN_PROGRESS' },
        data: { lockedUntil: clock() },
      });
    },

    async sweepExpired(now = clock()) {
      const { count } = await db.idempotencyKey.deleteMany({ where: { expiresAt: { lt: now } } });
      return count;
    },
  };
}
