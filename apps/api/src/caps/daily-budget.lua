-- A service's segments for one UTC day: counts `n` more unless that passes the limit, atomically, so the
-- budget is exact however many API processes admit at once.
-- KEYS[1] the day's counter; ARGV: n, limit, ms to keep the counter (past the day's end)
-- Returns {1, used} when counted, {0, used} when refused (nothing counted).
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if used + n > tonumber(ARGV[2]) then
  return {0, used}
end
used = redis.call('INCRBY', KEYS[1], n)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, used}
