-- Shared by acquire.lua and slow-down.lua: send-rate-limiter.ts puts it in front of each when loading them.

-- ARGV[1] of both scripts: the clock in ms, or 0 for Redis's own, so that workers on several machines
-- share one timeline.
local function clock(given)
  local now = tonumber(given)
  if now ~= 0 then return now end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

-- The share of its configured rate a scope has now: `f`, set by a slow-down at `fat`, climbs back to 1
-- in a straight line over `recovery` ms. No slow-down on record: the full rate.
local function rate_share(f, fat, now, recovery)
  if not f then return 1 end
  f = tonumber(f)
  return math.min(1, f + (1 - f) * math.max(0, now - tonumber(fat)) / recovery)
end

-- Keeps a scope's hash a minute past the last moment it matters, never shortening its life.
local function keep(key, now, until_ms)
  local want = math.ceil(until_ms - now) + 60000
  if redis.call('PTTL', key) < want then redis.call('PEXPIRE', key, want) end
end

