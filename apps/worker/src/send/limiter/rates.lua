-- The share of its configured rate each scope in KEYS has now (after slow-downs), for the metrics.
-- ARGV: now (ms; 0 = Redis's clock), recovery (ms). Returns strings (Redis would truncate Lua numbers).
local now = clock(ARGV[1])
local shares = {}
for i, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'f', 'fat')
  shares[i] = tostring(rate_share(h[1], h[2], now, tonumber(ARGV[2])))
end
return shares
