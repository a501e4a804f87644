-- Paces sends to Twilio: one GCRA ("theoretical arrival time") per scope, counted in segments, shared by
-- every worker process. KEYS[1] is the sender's hash, KEYS[2] (optional) the account's.
--
-- A send is granted a slot at most `horizon` ms ahead (the worker waits that little and sends); nothing
-- further ahead is ever reserved, so a later, more urgent message is not stuck behind promised slots.
-- A refused send is told when to come back ("parking"): parked sends of one sender and priority get
-- wake-up times one slot apart, behind those of the same or a more urgent priority, so the backlog
-- returns at the rate it can be served instead of all at once. Wake-ups are hints, not reservations.
--
-- Hash fields: tat (ms; next free slot), f and fat (slow-down factor and when it was set),
-- p<priority> (sender only: the wake-up time after the last parked send of that priority).
--
-- ARGV: now (ms; 0 = Redis's clock), cost (segments), priority (1 = most urgent), woken (1 when the
-- send was parked before), deadline (ms; 0 = none: a wake-up past it is not booked), recovery (ms for a slowed scope to
-- climb back to its full rate), then the configured rate (segments per second) of each key.
-- Returns {granted (1/0), wait ms (until the slot, or until the wake-up), binding scope (1 sender, 2 account),
-- the send's own spacing in whole ms (0 below 1 ms)}.
local now = clock(ARGV[1])
local cost = tonumber(ARGV[2])
local priority = tonumber(ARGV[3])
local woken = ARGV[4] == '1'
local deadline = tonumber(ARGV[5])
local recovery = tonumber(ARGV[6])

local scopes = {}
local start, binding, slowest = now, 1, 0
for i, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'tat', 'f', 'fat')
  local interval = 1000 / (tonumber(ARGV[6 + i]) * rate_share(h[2], h[3], now, recovery))
  local tat = tonumber(h[1]) or 0
  scopes[i] = { key = key, interval = interval }
  if tat > start then start, binding = tat, i end
  if interval > slowest then slowest = interval end
end

-- A few slots' worth, so the wait in the worker stays short at any rate.
local horizon = math.min(250, math.max(50, 4 * slowest))
local lead = horizon / 2

-- Sends already parked for this sender at this priority or a more urgent one.
local sender = KEYS[1]
local ahead = 0
for p = 1, priority do
  ahead = math.max(ahead, tonumber(redis.call('HGET', sender, 'p' .. p)) or 0)
end
-- A new send queues behind them (FIFO within a priority); one coming back from parking takes its turn.
local queued_behind = not woken and ahead > start - lead

if start - now <= horizon and not queued_behind then
  for _, s in ipairs(scopes) do
    local tat = start + cost * s.interval
    redis.call('HSET', s.key, 'tat', tat)
    keep(s.key, now, tat)
  end
  return { 1, math.ceil(start - now), binding, math.floor(cost * slowest) }
end

local wake = math.max(start - lead, ahead)
if queued_behind then binding = 1 end
if deadline == 0 or wake < deadline then
  local tail = wake + cost * slowest
  redis.call('HSET', sender, 'p' .. priority, tail)
  keep(sender, now, tail)
end
return { 0, math.max(1, math.ceil(wake - now)), binding, math.floor(cost * slowest) }
