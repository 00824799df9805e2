import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { isUuid } from '../domain/ids';
import { roles, type Principal, type Role } from '../domain/principal';
import type { Database } from '../platform/database';
import { sqlPoolOf } from '../platform/sql-pool';
import { customerShardDatabase, withShardRouter } from '../platform/shards/customer-database';
import { isPartitionFenced } from '../platform/shards/partition-fence';
import type { ShardRouter } from '../platform/shards/router';

/**
 * API keys: `sfk_<lookup id>_<secret>`. The lookup id finds the row; only a SHA-256 of the whole
 * key is stored. Keys carry 256 random bits, so a slow password hash would add latency to every
 * request and no safety. The hashes are compared by PostgreSQL, in the statement that finds the
 * row: a comparison's timing could only tell an attacker how much of the stored hash the hash of
 * their own guess shares, which brings them no closer to a key that has that hash.
 */

const KEY_PREFIX = 'sfk_';
const KEY_PATTERN = /^sfk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ApiKeyGrant {
  role: Role;
  /** Required for, and only for, customer keys. */
  customerId?: string;
  /** Required for, and only for, seller keys. */
  sellerId?: string;
  name: string;
}

export interface ApiKeyRecord {
  id: string;
  lookupId: string;
  role: Role;
  customerId: string | null;
  sellerId: string | null;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Refusals the CLI prints as one line. */
export class ApiKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiKeyError';
  }
}

const hashOf = (key: string): string => createHash('sha256').update(key).digest('hex');

/**
 * Creates a key and returns it in full: the only time it exists outside the caller's hands. Keys
 * are the catalogue's rows; a customer key's customer is looked for on the customer's shard
 * (through `options.shards`, or a router made for the call).
 */
export async function createApiKey(
  db: Database,
  grant: ApiKeyGrant,
  options: { shards?: ShardRouter } = {},
): Promise<{ key: string; record: ApiKeyRecord }> {
  const customerId = grant.role === 'customer' ? grant.customerId : undefined;
  const sellerId = grant.role === 'seller' ? grant.sellerId : undefined;
  if (grant.role === 'customer' && !customerId) throw new ApiKeyError('a customer key needs --customer <id>');
  if (grant.role === 'seller' && !sellerId) throw new ApiKeyError('a seller key needs --seller <id>');
  if ((grant.role !== 'customer' && grant.customerId) || (grant.role !== 'seller' && grant.sellerId)) {
    throw new ApiKeyError(`${grant.role} keys are bound to no customer or seller: drop --customer/--seller`);
  }
  if (customerId && !(await customerExists(db, customerId, options.shards))) {
    throw new ApiKeyError(`customer ${customerId} does not exist`);
  }
  if (sellerId && !(await db.seller.findUnique({ where: { id: sellerId }, select: { id: true } }))) {
    throw new ApiKeyError(`seller ${sellerId} does not exist`);
  }
  const lookupId = randomBytes(8).toString('hex');
  const key = `${KEY_PREFIX}${lookupId}_${randomBytes(32).toString('base64url')}`;
  const record = await db.apiKey.create({
    data: {
      lookupId,
      secretHash: hashOf(key),
      role: grant.role,
      customerId: customerId ?? null,
      sellerId: sellerId ?? null,
      name: grant.name,
    },
  });
  return { key, record: toRecord(record) };
}

async function customerExists(db: Database, customerId: string, shards: ShardRouter | undefined): Promise<boolean> {
  try {
    return await withShardRouter(db, shards, async (router) => {
      const shard = await customerShardDatabase(router, customerId);
      return (await shard.customer.findUnique({ where: { id: customerId }, select: { id: true } })) !== null;
    });
  } catch (error) {
    if (!isPartitionFenced(error)) throw error;
    throw new ApiKeyError(
      `customer ${customerId} is being moved to another shard: try again in ${error.retryAfterSeconds} s`,
    );
  }
}

/** Revokes by id or lookup id; revoking twice is not an error (the first time is kept). */
export async function revokeApiKey(db: Database, idOrLookupId: string): Promise<ApiKeyRecord> {
  const where = /^[0-9a-f]{16}$/.test(idOrLookupId)
    ? { lookupId: idOrLookupId }
    : isUuid(idOrLookupId)
      ? { id: idOrLookupId }
      : undefined;
  if (!where) throw new ApiKeyError(`"${idOrLookupId}" is neither a key id (UUID) nor a lookup id (16 hex digits)`);
  const found = await db.apiKey.findUnique({ where });
  if (!found) throw new ApiKeyError(`no API key ${idOrLookupId}`);
  if (found.revokedAt) return toRecord(found);
  return toRecord(await db.apiKey.update({ where: { id: found.id }, data: { revokedAt: new Date() } }));
}

export async function listApiKeys(
  db: Database,
  filter: { role?: Role; includeRevoked?: boolean } = {},
): Promise<ApiKeyRecord[]> {
  const rows = await db.apiKey.findMany({
    where: { ...(filter.role ? { role: filter.role } : {}), ...(filter.includeRevoked ? {} : { revokedAt: null }) },
    orderBy: { createdAt: 'asc' },
  });
  return rows.map(toRecord);
}

export interface ApiKeyAuthenticator {
  /** The key's principal, or undefined for a malformed, unknown or revoked key. */
  authenticate(key: string): Promise<Principal | undefined>;
  /**
   * What the process knows of the key without asking the database: its principal, null when it is
   * malformed or was refused lately, undefined when only `authenticate` can tell.
   */
  known(key: string): Principal | null | undefined;
}

/**
 * Authenticates keys with a small in-process cache of recent answers, so a hot key costs no query.
 * A revocation therefore takes effect within `cacheTtlMs` on every API process. `last_used_at` is
 * written when a key is (re)loaded, i.e. at most once per TTL per process, not on every request.
 */
export function createApiKeyAuthenticator(
  db: Database,
  options: {
    cacheTtlMs: number;
    /** Called for each key looked up in the database (a metric: what a flood of made-up keys costs). */
    onLookup?: () => void;
  },
): ApiKeyAuthenticator {
  const ttl = Math.max(options.cacheTtlMs, 1);
  const valid = new LRUCache<string, Principal>({ max: 10_000, ttl });
  // Refused keys apart, and fewer: a flood of made-up keys must not push the real ones out.
  const refused = new LRUCache<string, true>({ max: 1_000, ttl });
  const cached = options.cacheTtlMs > 0;
  return {
    known(key) {
      if (!KEY_PATTERN.test(key)) return null;
      if (!cached) return undefined;
      const hash = hashOf(key);
      return valid.get(hash) ?? (refused.has(hash) ? null : undefined);
    },
    async authenticate(key) {
      const match = KEY_PATTERN.exec(key);
      if (!match) return undefined;
      const hash = hashOf(key);
      if (cached) {
        const known = valid.get(hash);
        if (known || refused.has(hash)) return known;
      }
      // One statement finds a live key with this hash and notes its use: a write at most once per
      // TTL per process (the cache answers meanwhile), never for a wrong or revoked key.
      options.onLookup?.();
      const {
        rows: [row],
      } = await sqlPoolOf(db).query<{ id: string; role: string; customerId: string | null; sellerId: string | null }>({
        name: 'api-key-authenticate',
        text: `UPDATE api_keys SET last_used_at = now()
               WHERE lookup_id = $1 AND secret_hash = $2 AND revoked_at IS NULL
               RETURNING id::text AS id, role, customer_id::text AS "customerId", seller_id::text AS "sellerId"`,
        values: [match[1], hash],
      });
      if (!row) {
        if (cached) refused.set(hash, true);
        return undefined;
      }
      const principal = principalOf(row);
      if (cached) valid.set(hash, principal);
      return principal;
    },
  };
}

function principalOf(row: { id: string; role: string; customerId: string | null; sellerId: string | null }): Principal {
  if (row.role === 'customer' && row.customerId) return { role: 'customer', keyId: row.id, customerId: row.customerId };
  if (row.role === 'seller' && row.sellerId) return { role: 'seller', keyId: row.id, sellerId: row.sellerId };
  if (row.role === 'operator') return { role: 'operator', keyId: row.id };
  // The CHECK constraint makes this unreachable; refuse rather than guess a role.
  throw new Error(`API key ${row.id} has an inconsistent role binding`);
}

type ApiKeyRow = Omit<ApiKeyRecord, 'role'> & { role: string; secretHash: string };

function toRecord({ secretHash: _hash, role, ...rest }: ApiKeyRow): ApiKeyRecord {
  if (!isRole(role)) throw new Error(`API key ${rest.id} has an unknown role ${role}`);
  return { ...rest, role };
}

const isRole = (value: string): value is Role => (roles as readonly string[]).includes(value);
