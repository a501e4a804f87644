-- Gives back one send counted by prefix-window.lua (the request failed after the guard let it through).
-- KEYS[1] the watched prefix's hash of sends per window; ARGV[1] the window it was counted in.
-- Only while that window is still kept, so a late give-back never leaves a negative count.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 and tonumber(redis.call('HGET', KEYS[1], ARGV[1])) > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
end
return 0
