-- Moves failed jobs back to their queues, each atomically: it leaves the failed registry and
-- enters its queue in one step, so an interrupted requeue never loses or duplicates a job.
-- ARGV: now (RQ timestamp), then pairs of queue, job id.
-- Returns one code per job: 1 requeued, 0 not in that failed registry, -1 its hash is gone.
local now = ARGV[1]
local out = {}
for i = 2, #ARGV, 2 do
  local q, id = ARGV[i], ARGV[i + 1]
  if redis.call('ZREM', K.failed(q), id) == 0 then
    out[#out + 1] = 0
  else
    local jkey = K.job(id)
    if redis.call('EXISTS', jkey) == 0 then
      out[#out + 1] = -1
    else
      local origin = redis.call('HGET', jkey, 'origin')
      if not origin or origin == '' then origin = q end
      redis.call('HSET', jkey, 'status', 'queued', 'enqueued_at', now, 'started_at', '', 'ended_at', '', 'worker_name', '')
      if redis.call('HEXISTS', jkey, 'ttl') == 0 then redis.call('PERSIST', jkey) end
      redis.call('RPUSH', K.queue(origin), id)
      redis.call('SADD', K.queues, K.queue(origin))
      out[#out + 1] = 1
    end
  end
end
return out
