-- The SMS-pumping guard's one atomic step for one OTP send (see prefix-window.ts).
-- KEYS[1] the guard's start marker (the window it began counting in)
-- KEYS[2] hash of the watched prefix's sends per window: window number -> count
-- KEYS[3] the watched prefix's grace marker (an operator lifted its block: count, never block)
-- KEYS[4..] the block keys of every leading part of the number, shortest first
-- ARGV: now (ms), window (ms), baseline windows, factor, min sends, learning windows, block (ms),
--       KEYS index of the watched prefix's block key
-- Returns one of
--   {'blocked', n, pttl, holder}  KEYS[3 + n] blocks the number (n = its prefix length); nothing counted
--   {'fresh'}                     no start marker: Redis lost the guard's state (or this is its first
--                                 send); the caller restores blocks from Postgres and asks again
--   {'tripped', observed, baseline}  this send made the prefix abnormal: it is now blocked, not counted
--   {'counted', observed, baseline, window}  counted in window number `window`
local now = tonumber(ARGV[1])
local width = tonumber(ARGV[2])
local span = tonumber(ARGV[3])
local factor = tonumber(ARGV[4])
local minSends = tonumber(ARGV[5])
local learning = tonumber(ARGV[6])
local blockMs = tonumber(ARGV[7])
local watched = tonumber(ARGV[8])

for i = 4, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder then
    return {'blocked', tostring(i - 3), tostring(redis.call('PTTL', KEYS[i])), holder}
  end
end

local cur = math.floor(now / width)
local since = tonumber(redis.call('GET', KEYS[1]))
if not since then
  redis.call('SET', KEYS[1], cur)
  return {'fresh'}
end

-- The baseline is the mean of the complete windows before this one, back to `span` windows, and only
-- those after the guard began counting (its first window was partial).
local first = math.max(since + 1, cur - span)
local sum, n = 0, 0
if first <= cur - 1 then
  local fields = {}
  for w = first, cur - 1 do fields[#fields + 1] = w end
  for _, v in ipairs(redis.call('HMGET', KEYS[2], unpack(fields))) do
    if v then sum = sum + tonumber(v) end
  end
  n = #fields
end
local baseline = 0
if n > 0 then baseline = sum / n end

-- Sends in the last full window width, this one included: the current window plus the share of the
-- previous one that still overlaps it, so a burst split by a window boundary is still seen whole.
local current = tonumber(redis.call('HGET', KEYS[2], cur) or '0')
local previous = tonumber(redis.call('HGET', KEYS[2], cur - 1) or '0')
local observed = current + 1 + previous * (1 - (now - cur * width) / width)

local history = math.max(0, cur - since - 1)
if history >= learning and redis.call('EXISTS', KEYS[3]) == 0
    and observed >= minSends and observed > factor * baseline then
  redis.call('SET', KEYS[watched], 'pending', 'PX', blockMs)
  return {'tripped', tostring(observed), tostring(baseline)}
end

redis.call('HINCRBY', KEYS[2], cur, 1)
redis.call('PEXPIRE', KEYS[2], (span + 2) * width)
if redis.call('HLEN', KEYS[2]) > span + 2 then
  for _, w in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(w) < cur - span - 1 then redis.call('HDEL', KEYS[2], w) end
  end
end
return {'counted', tostring(observed), tostring(baseline), tostring(cur)}
