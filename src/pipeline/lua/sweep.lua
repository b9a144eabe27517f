-- The periodic pass over every limited webhook, run by every worker: leases of crashed workers
-- expire, a probe lost with its worker is retried, a due probe is let go, jobs whose rate slot
-- has come go back to their queues, and waiting jobs go back while slots are free and the
-- circuit is closed. Idempotent: any number of workers may run it.
-- ARGV: now (RQ timestamp), then per webhook: prefix, max_in_flight, lease seconds
-- Returns the number of jobs put back on their queues.
local now_text = ARGV[1]
local now = clock()
local moved = 0
for i = 2, #ARGV, 3 do
  local prefix, max, lease = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local circuit, probe_at, probe_until = unpack(redis.call('HMGET', prefix, 'circuit', 'probe_at', 'probe_until'))
  circuit = circuit or 'closed'
  if circuit == 'half_open' and tonumber(probe_until) and now >= tonumber(probe_until) then
    circuit = 'open'
    probe_at = tostring(now)
    redis.call('HSET', prefix, 'circuit', 'open', 'probe_at', probe_at, 'probe', '')
  end
  moved = moved + release(prefix .. ':timed', now, 1000, now_text)
  if circuit == 'closed' then
    moved = moved + release(prefix .. ':waiting', now, free_slots(prefix, max, now), now_text)
  elseif circuit == 'open' and now >= tonumber(probe_at) then
    -- One waiting job goes first as the probe; the others wait for its answer.
    local released = release(prefix .. ':waiting', now, 1, now_text)
    if released > 0 then
      redis.call('HSET', prefix, 'circuit', 'half_open', 'probe', '', 'probe_until', now + lease)
    end
    moved = moved + released
  else
    free_slots(prefix, max, now)
  end
end
return moved
