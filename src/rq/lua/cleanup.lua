-- Registry maintenance for one queue, as RQ's clean_registries does it, under RQ's lock:
-- expired finished and failed entries go; started entries whose heartbeat lapsed are abandoned
-- jobs: put back at the front of the queue (at-least-once delivery), or failed with RQ's
-- AbandonedJobError reason after `max_abandoned` times; dead workers leave the worker sets.
-- ARGV: queue, now (RQ timestamp), epoch (int), abandoned reason (base64(zlib)), max_abandoned,
--       lock owner, reclaim_worker ("" or a worker name whose jobs are reclaimed whatever their score)
-- Returns {requeued, failed} or {-1} when another process holds the lock.
local q, now, epoch, reason, max_abandoned = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local reclaim = ARGV[7]
local lock = K.clean_registries_lock(q)
if reclaim == '' and not redis.call('SET', lock, ARGV[6], 'NX', 'EX', 899) then
  return {-1}
end
redis.call('ZREMRANGEBYSCORE', K.finished(q), 0, epoch)
redis.call('ZREMRANGEBYSCORE', K.failed(q), 0, epoch)
local wip = K.started(q)
local members
if reclaim == '' then
  members = redis.call('ZRANGEBYSCORE', wip, 0, epoch)
else
  members = redis.call('ZRANGE', wip, 0, -1)
end
local requeued, failed = 0, 0
for _, member in ipairs(members) do
  local id = string.match(member, '^([^:]+)')
  local jkey = K.job(id)
  local owner = redis.call('HGET', jkey, 'worker_name')
  if reclaim == '' or owner == reclaim then
    redis.call('ZREM', wip, member)
    if redis.call('HGET', jkey, 'status') == 'started' then
      local times = redis.call('HINCRBY', jkey, 'abandoned_count', 1)
      if times <= max_abandoned then
        redis.call('HSET', jkey, 'status', 'queued', 'enqueued_at', now, 'started_at', '', 'worker_name', '')
        redis.call('LPUSH', K.queue(q), id)
        redis.call('SADD', K.queues, K.queue(q))
        requeued = requeued + 1
      else
        redis.call('HSET', jkey, 'status', 'failed', 'ended_at', now)
        local waited = job_ended(id, now)
        -- The job's own failure_ttl, as RQ's registry cleanup uses it (a year when it has none).
        local ttl = tonumber(redis.call('HGET', jkey, 'failure_ttl')) or 31536000
        redis.call('XADD', K.results(id), 'MAXLEN', '~', 10, '*', 'type', 2, 'worker_name', '', 'exc_string', reason)
        expire_job_keys(id, ttl, waited)
        if ttl < 0 then
          redis.call('PERSIST', jkey)
          redis.call('ZADD', K.failed(q), -1, id)
        else
          redis.call('EXPIRE', jkey, ttl)
          redis.call('ZADD', K.failed(q), epoch + ttl, id)
        end
        failed = failed + 1
      end
    end
  end
end
for _, set in ipairs({K.queue_workers(q), K.workers}) do
  for _, worker in ipairs(redis.call('SMEMBERS', set)) do
    if redis.call('EXISTS', worker) == 0 then redis.call('SREM', set, worker) end
  end
end
if reclaim == '' then redis.call('DEL', lock) end
return {requeued, failed}
