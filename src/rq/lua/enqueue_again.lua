-- Puts a job that has ended (finished, failed, stopped or canceled) back on its queue, as
-- NetBox's "enqueue" button does to re-send a webhook: out of its registry, status queued,
-- onto the end of its queue, in one atomic step. A job whose hash expires (finished jobs keep
-- theirs for result_ttl) is made persistent again unless it has its own `ttl`.
-- ARGV: job id, now (RQ timestamp).
-- Returns {code, origin, status before}: code 1 when enqueued, 0 when the job has not ended,
-- -1 when there is no such job, -2 when it has no origin queue.
local id, now = ARGV[1], ARGV[2]
local jkey = K.job(id)
if redis.call('EXISTS', jkey) == 0 then
  return {-1, '', ''}
end
local status = redis.call('HGET', jkey, 'status') or ''
local origin = redis.call('HGET', jkey, 'origin') or ''
if status ~= 'finished' and status ~= 'failed' and status ~= 'stopped' and status ~= 'canceled' then
  return {0, origin, status}
end
if origin == '' then
  return {-2, '', status}
end
for _, registry in ipairs({K.finished, K.failed, K.canceled}) do
  redis.call('ZREM', registry(origin), id)
end
redis.call('HSET', jkey, 'status', 'queued', 'enqueued_at', now, 'started_at', '', 'ended_at', '', 'worker_name', '')
if redis.call('HEXISTS', jkey, 'ttl') == 0 then redis.call('PERSIST', jkey) end
redis.call('RPUSH', K.queue(origin), id)
redis.call('SADD', K.queues, K.queue(origin))
return {1, origin, status}
