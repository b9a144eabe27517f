-- Functions the delivery-limit scripts share (after the K table of key names).
--
-- Each limited webhook has, under its key prefix P (passed in): P (a hash: circuit, failures,
-- probe_at, probe, probe_until, last_status, last_at), P..':leases' (deliveries in flight:
-- job id scored by when its lease ends), P..':waiting' (jobs waiting for a free slot or a
-- closed circuit, scored by when they began to wait) and P..':timed' (jobs waiting for their
-- rate-limit slot, scored by it). A waiting job is deferred in RQ's terms: status 'deferred',
-- in its queue's deferred registry.

-- Redis's clock, in seconds, so every worker agrees on the time.
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

-- Puts up to `n` jobs of the sorted set `set` scored at most `upto` back at the front of their
-- queues, earliest first; returns how many went back. Jobs no longer deferred (deleted,
-- requeued by hand) are dropped from the set.
local function release(set, upto, n, now_text)
  if n <= 0 then return 0 end
  local ids = redis.call('ZRANGEBYSCORE', set, '-inf', upto, 'LIMIT', 0, n)
  local back = {}
  for _, id in ipairs(ids) do
    redis.call('ZREM', set, id)
    local jkey = K.job(id)
    local status, origin = unpack(redis.call('HMGET', jkey, 'status', 'origin'))
    if status == 'deferred' and origin then
      back[#back + 1] = {id, origin}
    end
  end
  for j = #back, 1, -1 do
    local id, origin = back[j][1], back[j][2]
    redis.call('ZREM', K.deferred(origin), id)
    redis.call('HSET', K.job(id), 'status', 'queued', 'enqueued_at', now_text)
    redis.call('LPUSH', K.queue(origin), id)
    redis.call('SADD', K.queues, K.queue(origin))
  end
  return #back
end

-- Free delivery slots (a large number when the webhook has no max_in_flight).
local function free_slots(prefix, max, now)
  if max <= 0 then return 1000 end
  redis.call('ZREMRANGEBYSCORE', prefix .. ':leases', '-inf', now)
  return math.max(0, max - redis.call('ZCARD', prefix .. ':leases'))
end
