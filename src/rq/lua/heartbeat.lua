-- Keeps a worker and its running jobs alive: refreshes the worker hash's TTL and the started
-- registry score of every job in flight. Returns 0 when the worker hash has vanished, so the
-- worker registers again (as NetBox's worker does).
-- ARGV: worker_key, now (RQ timestamp), worker_key_ttl, wip score, then pairs of queue, member
local worker_key, now, ttl, score = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local alive = redis.call('EXISTS', worker_key)
if alive == 1 then
  redis.call('HSET', worker_key, 'last_heartbeat', now)
  redis.call('EXPIRE', worker_key, ttl)
end
for i = 5, #ARGV, 2 do
  redis.call('ZADD', K.started(ARGV[i]), 'XX', score, ARGV[i + 1])
end
return alive
