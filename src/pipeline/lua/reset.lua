-- An operator closes a webhook's circuit (`manage webhooks --reset`, the page's Reset): the
-- failures in a row are forgotten and every job waiting on the circuit goes back on its queue
-- at once. A webhook that has limits holds them again at its gate if they are still due; one
-- without limits has no sweep that would let them go later.
-- ARGV: prefix, now (RQ timestamp)
-- Returns the circuit as it was, and how many jobs went back.
local prefix, now_text = ARGV[1], ARGV[2]
local before = redis.call('HGET', prefix, 'circuit') or 'closed'
redis.call('HSET', prefix, 'circuit', 'closed', 'failures', 0, 'probe', '')
local waiting = prefix .. ':waiting'
local moved = release(waiting, '+inf', redis.call('ZCARD', waiting), now_text)
return {before, moved}
