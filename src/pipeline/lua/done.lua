-- Records the end of an attempt on a limited webhook, atomically: frees its slot, moves the
-- circuit (failures in a row open it; the probe's success closes it, its failure opens it
-- again; 410 Gone opens it until reset, with or without a breaker), and lets waiting deliveries go when slots are free
-- and the circuit is closed.
-- ARGV: prefix, job id, result ('ok', 'fail', 'gone' or 'aborted'), status text (e.g. '503' or
--       the error), max_in_flight, breaker failures (0: none), seconds an open circuit waits,
--       now (RQ timestamp)
-- Returns the circuit before and after it: each 'closed', 'open', 'half_open' or 'gone'.
local prefix, id, result, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local max, breaker, open_for, now_text = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local now = clock()
redis.call('ZREM', prefix .. ':leases', id)
local circuit = redis.call('HGET', prefix, 'circuit') or 'closed'
local before = circuit
if result ~= 'aborted' then
  redis.call('HSET', prefix, 'last_status', status, 'last_at', now_text)
  if result == 'ok' then
    redis.call('HSET', prefix, 'failures', 0)
    if circuit == 'half_open' or circuit == 'open' then
      circuit = 'closed'
      redis.call('HSET', prefix, 'circuit', 'closed', 'probe', '')
    end
  else
    local failures = redis.call('HINCRBY', prefix, 'failures', 1)
    if result == 'gone' then
      -- Gone for good, breaker or not: nothing but an operator's reset sends to it again.
      circuit = 'gone'
      redis.call('HSET', prefix, 'circuit', 'gone', 'opened_at', now_text, 'probe', '')
    elseif breaker > 0 and ((circuit == 'half_open' and redis.call('HGET', prefix, 'probe') == id)
        or (circuit == 'closed' and failures >= breaker)) then
      circuit = 'open'
      redis.call('HSET', prefix, 'circuit', 'open', 'opened_at', now_text, 'probe_at', now + open_for, 'probe', '')
    end
  end
elseif circuit == 'half_open' and redis.call('HGET', prefix, 'probe') == id then
  -- The probe was interrupted without an answer: probe again at once.
  circuit = 'open'
  redis.call('HSET', prefix, 'circuit', 'open', 'probe_at', now, 'probe', '')
end
if circuit == 'closed' then
  release(prefix .. ':waiting', now, free_slots(prefix, max, now), now_text)
end
return {before, circuit}
