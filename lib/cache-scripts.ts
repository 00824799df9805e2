import { createHash } from 'node:crypto';
import type { Redis } from './redis';

/**
 * The read cache's atomic steps (lib/cache.ts), as Lua scripts run by EVALSHA (EVAL once when
 * Redis does not know the script yet). Each tag passes three keys, in this order: its version, its
 * in-flight marker and its set of cache keys. The entries a tag set names are deleted from inside
 * the script without being declared in KEYS: fine on one Redis, not on a Redis Cluster.
 */

const deleteTagged = `
local function deleteTagged(set)
  local members = redis.call('SMEMBERS', set)
  if #members == 0 then return end
  for i = 1, #members, 1000 do
    redis.call('DEL', unpack(members, i, math.min(i + 999, #members)))
  end
  redis.call('DEL', set)
end
`;

/**
 * Stores an entry and adds it to its tags' sets, only if no tag's version moved since the caller
 * read them (before loading) and no tag is being invalidated: a load that may have read a row as
 * it was before an invalidating commit is never stored.
 * KEYS: entry, then (version, in-flight, set) per tag. ARGV: value, ttlMs, tagSetTtlMs (at least
 * ttlMs, so a set outlives its entries), then the version seen per tag ('0' when absent). Returns 1 when stored, 0 when refused.
 */
const storeIfUnchanged = `
local tags = (#KEYS - 1) / 3
for i = 0, tags - 1 do
  local version = redis.call('GET', KEYS[2 + i * 3]) or '0'
  if version ~= ARGV[4 + i] then return 0 end
  local inflight = tonumber(redis.call('GET', KEYS[3 + i * 3]) or '0')
  if inflight > 0 then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 0, tags - 1 do
  local set = KEYS[4 + i * 3]
  redis.call('SADD', set, KEYS[1])
  redis.call('PEXPIRE', set, ARGV[3])
end
return 1
`;

/**
 * Inside the projection's transaction, before its commit: marks each tag in flight (so no load
 * is stored until the end), moves its version (so loads already under way are not stored) and
 * deletes its entries. KEYS: (version, in-flight, set) per tag. ARGV: inflightTtlMs, versionTtlMs.
 */
const beginInvalidation = `${deleteTagged}
for i = 1, #KEYS, 3 do
  redis.call('INCR', KEYS[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
  deleteTagged(KEYS[i + 2])
end
return 1
`;

/**
 * Right after the commit: ends the in-flight marks. While a tag's mark stood, since its begin, no
 * entry of that tag could be stored, and loads that had looked up the tag before the begin were
 * refused by the version the begin moved: nothing more to do. Only when the mark expired before
 * this end (a transaction longer than its TTL; DECR then finds no key) may loads have stored rows
 * from before the commit, so the tag's entries are deleted again and its version moved again
 * (loads that looked it up while unmarked must not store). Same KEYS and ARGV as beginInvalidation.
 */
const endInvalidation = `${deleteTagged}
for i = 1, #KEYS, 3 do
  local marks = redis.call('DECR', KEYS[i + 1])
  if marks <= 0 then redis.call('DEL', KEYS[i + 1]) end
  if marks < 0 then
    deleteTagged(KEYS[i + 2])
    redis.call('INCR', KEYS[i])
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
end
return 1
`;

export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

export const cacheScripts = {
  storeIfUnchanged: new LuaScript(storeIfUnchanged),
  beginInvalidation: new LuaScript(beginInvalidation),
  endInvalidation: new LuaScript(endInvalidation),
} as const;
