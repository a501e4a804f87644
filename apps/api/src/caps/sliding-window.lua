-- Sliding-window counters: for each i, at most max_i hits per window_i ms on KEYS[i], counted atomically so
-- a cap holds over any number of API processes. Each hit is a sorted-set member scored by its time. The
-- hits of many requests travel in one call; two on one key are counted in the order given. The keys of one
-- call share a Redis Cluster slot: their prefix's {hash tag}.
-- ARGV: for each key, four values: now (ms), max hits, window (ms), member (unique per hit)
-- Returns, for each key, two values: 1, 0 when the hit was counted, or 0, ms until the oldest hit leaves
-- the window.
local out = {}
for i, key in ipairs(KEYS) do
  local a = (i - 1) * 4
  local now = tonumber(ARGV[a + 1])
  local max = tonumber(ARGV[a + 2])
  local window = tonumber(ARGV[a + 3])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= max then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    out[#out + 1] = 0
    out[#out + 1] = math.max(1, tonumber(oldest[2]) + window - now)
  else
    redis.call('ZADD', key, now, ARGV[a + 4])
    redis.call('PEXPIRE', key, window)
    out[#out + 1] = 1
    out[#out + 1] = 0
  end
end
return out
