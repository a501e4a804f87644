-- A sliding-window counter: at most ARGV[2] hits per ARGV[3] ms on KEYS[1], counted atomically so the cap
-- holds over any number of API processes. Each hit is a sorted-set member scored by its time.
-- ARGV: now (ms), max hits, window (ms), member (unique per hit)
-- Returns {1, 0} when the hit was counted, or {0, ms until the oldest hit leaves the window}.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local window = tonumber(ARGV[3])

redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= max then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, window)
return {1, 0}
