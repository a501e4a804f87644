-- Twilio said "too fast" (429/20429, 21611, 30001): each scope in KEYS halves its current rate (not
-- again within ARGV[5] ms, so one burst of refusals counts once), recovers linearly to the full rate over
-- ARGV[3] ms, and sends nothing before the Retry-After has passed.
-- ARGV: now (ms; 0 = Redis's clock), retry-after (ms), recovery (ms), lowest factor, cool-down (ms).
-- Returns the first scope's new factor, as a string (Redis would truncate a Lua number).
local now = tonumber(ARGV[1])
if now == 0 then
  -- Redis's clock, not a worker's: workers on several machines share one timeline.
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local retry_after = tonumber(ARGV[2])
local recovery = tonumber(ARGV[3])
local lowest = tonumber(ARGV[4])
local cooldown = tonumber(ARGV[5])

local result
for _, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'tat', 'f', 'fat')
  local f, fat = 1, nil
  if h[2] then
    fat = tonumber(h[3])
    f = math.min(1, tonumber(h[2]) + (1 - tonumber(h[2])) * math.max(0, now - fat) / recovery)
  end
  if not fat or now - fat >= cooldown then
    f = math.max(lowest, f / 2)
    redis.call('HSET', key, 'f', f, 'fat', now)
  end
  redis.call('HSET', key, 'tat', math.max(tonumber(h[1]) or 0, now + retry_after))
  local want = math.ceil(retry_after + recovery) + 60000
  if redis.call('PTTL', key) < want then redis.call('PEXPIRE', key, want) end
  result = result or tostring(f)
end
return result
