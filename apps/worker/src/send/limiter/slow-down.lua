-- Twilio said "too fast" (429/20429, 21611, 30001): each scope in KEYS halves its current rate (not
-- again within ARGV[5] ms, so one burst of refusals counts once), recovers linearly to the full rate over
-- ARGV[3] ms, and sends nothing before the Retry-After has passed.
-- ARGV: now (ms; 0 = Redis's clock), retry-after (ms), recovery (ms), lowest factor, cool-down (ms).
-- Returns the first scope's new factor, as a string (Redis would truncate a Lua number).
local now = clock(ARGV[1])
local retry_after = tonumber(ARGV[2])
local recovery = tonumber(ARGV[3])
local lowest = tonumber(ARGV[4])
local cooldown = tonumber(ARGV[5])

local result
for _, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'tat', 'f', 'fat')
  local fat = tonumber(h[3])
  local f = rate_share(h[2], h[3], now, recovery)
  if not fat or now - fat >= cooldown then
    f = math.max(lowest, f / 2)
    redis.call('HSET', key, 'f', f, 'fat', now)
  end
  redis.call('HSET', key, 'tat', math.max(tonumber(h[1]) or 0, now + retry_after))
  keep(key, now, now + retry_after + recovery)
  result = result or tostring(f)
end
return result
