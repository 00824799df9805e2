import { createHash } from 'node:crypto';

/**
 * Takes one token from each of several token buckets, all or none, in one round trip.
 *
 * Each bucket is kept as GCRA keeps it: one integer, the bucket's "theoretical arrival time" (TAT,
 * µs). `TAT - now` is the debt the bucket carries: a full bucket has none, each request adds one
 * emission interval (1 / rate), and the debt drains with the clock. A request fits when its debt
 * after the request stays within burst × interval. This is a token bucket with continuous refill
 * (tokens = burst - debt / interval), stored in one string that expires when the bucket is full.
 *
 * The clock is Redis' own (TIME), so that every API process sees the same buckets whatever its
 * clock says. A refused request changes nothing: it consumes no token from any bucket.
 *
 * KEYS: one per bucket. ARGV: per bucket, its emission interval (whole µs) and its burst.
 * Returns {allowed (1 or 0), then per bucket: remaining tokens, ms until full, ms until a token}.
 * "Remaining" counts after this request when allowed; as it stands when refused.
 */
const takeTokens = `
local time = redis.call('TIME')
local now = time[1] * 1000000 + time[2]
local n = #KEYS
local debts = {}
local allowed = 1
for i = 1, n do
  local debt = (tonumber(redis.call('GET', KEYS[i])) or now) - now
  if debt < 0 then debt = 0 end
  local interval = tonumber(ARGV[i * 2 - 1])
  if debt + interval > interval * ARGV[i * 2] then allowed = 0 end
  debts[i] = debt
end
local result = { allowed }
for i = 1, n do
  local interval = tonumber(ARGV[i * 2 - 1])
  local span = interval * ARGV[i * 2]
  local debt = debts[i]
  if allowed == 1 then
    debt = debt + interval
    redis.call('SET', KEYS[i], string.format('%d', now + debt), 'PX', math.ceil(debt / 1000) + 1)
  end
  local wait = debt + interval - span
  -- Never below 0, even for a bucket that owes more than a burst lowered since it was filled.
  result[i * 3 - 1] = math.max(0, math.floor((span - debt) / interval))
  result[i * 3] = math.ceil(debt / 1000)
  result[i * 3 + 1] = wait > 0 and math.ceil(wait / 1000) or 0
end
return result
`;

/** Run by EVALSHA, EVAL once when Redis does not know it yet (access/rate-limit.ts). */
export const takeTokensScript = {
  source: takeTokens,
  sha: createHash('sha1').update(takeTokens).digest('hex'),
} as const;
