-- Decides whether a delivery to a limited webhook (or one whose circuit a 410 opened) may start now, in one atomic step across all
-- workers: the circuit must be closed (or this delivery is the probe), a slot must be free
-- (max_in_flight), and its rate-limit slot must have come. A delivery that may start takes a
-- lease on a slot; one that may not is told where to wait and until when (the worker parks it).
-- ARGV: prefix, job id, max_in_flight, seconds between requests (0: no rate limit),
--       breaker failures (0: no breaker), lease seconds
-- Returns {'go'} or {'wait', set (':waiting' or ':timed' key), until (unix seconds), why}.
local prefix, id = ARGV[1], ARGV[2]
local max, interval, breaker, lease = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now = clock()
local waiting, timed = prefix .. ':waiting', prefix .. ':timed'
local circuit, probe_at, probe, probe_until = unpack(redis.call('HMGET', prefix, 'circuit', 'probe_at', 'probe', 'probe_until'))
-- Gone (a 410) holds with or without a breaker; open and half open are the breaker's.
if circuit == 'gone' then
  return {'wait', waiting, tostring(now), 'the endpoint answered 410 Gone; the circuit stays open until manage webhooks --reset'}
end
if breaker > 0 then
  if circuit == 'open' then
    if now < tonumber(probe_at) then
      return {'wait', waiting, tostring(now), 'the circuit is open'}
    end
    redis.call('HSET', prefix, 'circuit', 'half_open', 'probe', id, 'probe_until', now + lease)
  elseif circuit == 'half_open' then
    if probe == '' then
      redis.call('HSET', prefix, 'probe', id, 'probe_until', now + lease)
    elseif probe ~= id and now < tonumber(probe_until) then
      return {'wait', waiting, tostring(now), 'the circuit is half open: a probe delivery is under way'}
    elseif probe ~= id then
      redis.call('HSET', prefix, 'probe', id, 'probe_until', now + lease)
    end
  end
end
if max > 0 and not redis.call('ZSCORE', prefix .. ':leases', id) and free_slots(prefix, max, now) == 0 then
  return {'wait', waiting, tostring(now), 'max_in_flight deliveries are under way'}
end
if interval > 0 then
  local jkey = K.job(id)
  local slot = tonumber(redis.call('HGET', jkey, 'manage_rate_slot'))
  if slot and slot <= now + 0.002 then
    redis.call('HDEL', jkey, 'manage_rate_slot')
  else
    local due = math.max(tonumber(redis.call('GET', prefix .. ':rate')) or 0, now)
    redis.call('SET', prefix .. ':rate', tostring(due + interval), 'PX', math.ceil((due + interval - now) * 1000) + 1000)
    if due > now + 0.002 then
      redis.call('HSET', jkey, 'manage_rate_slot', tostring(due))
      return {'wait', timed, tostring(due), 'rate_limit'}
    end
  end
end
if max > 0 then
  redis.call('ZADD', prefix .. ':leases', now + lease, id)
end
return {'go'}
