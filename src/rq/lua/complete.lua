-- Writes the outcomes of a batch of jobs, each as RQ 2.12 does: status, registry, results stream,
-- TTLs, and the removal from the started registry, all in one atomic step. A job that ended for
-- good (finished, failed, stopped) lets its dependents go (lib.lua's job_ended).
-- ARGV: worker_key, worker_name, now (RQ timestamp), epoch (int), successes, failures,
--       working_seconds, idle ("1" when nothing is left in flight), then records of 10:
--       kind, id, queue, execution, payload, ttl, started (float), ended (float), x1, x2
-- kinds: ok (payload = base64 result or ""; ttl = result_ttl or "")
--        fail / stopped (payload = base64(zlib(reason)); ttl = failure_ttl or "")
--        retry (x1 = interval seconds, x2 = retries left, payload = "1" to go to the front)
--        requeue (back to the front of its queue, as queued: shutdown or abandoned)
local worker_key, worker_name, now = ARGV[1], ARGV[2], ARGV[3]
local epoch = tonumber(ARGV[4])
local i = 9
while i + 9 <= #ARGV do
  local kind, id, q, exec = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local payload, ttl, started, ended, x1, x2 = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8], ARGV[i + 9]
  i = i + 10
  local jkey = K.job(id)
  local rkey = K.results(id)
  redis.call('ZREM', K.started(q), id .. ':' .. exec)
  if redis.call('EXISTS', jkey) == 0 then
    -- deleted while it ran: nothing left to record
  elseif kind == 'ok' then
    local result_ttl = tonumber(ttl) or 500
    job_ended(id, now)
    if result_ttl == 0 then
      redis.call('DEL', jkey)
    else
      redis.call('HSET', jkey, 'status', 'finished', 'ended_at', now, 'last_heartbeat', now)
      if payload ~= '' then
        redis.call('XADD', rkey, 'MAXLEN', '~', 10, '*', 'type', 1, 'worker_name', worker_name, 'return_value', payload,
          'execution_id', exec, 'execution_started_at', started, 'execution_ended_at', ended)
      else
        redis.call('XADD', rkey, 'MAXLEN', '~', 10, '*', 'type', 1, 'worker_name', worker_name,
          'execution_id', exec, 'execution_started_at', started, 'execution_ended_at', ended)
      end
      if result_ttl < 0 then
        redis.call('ZADD', K.finished(q), '+inf', id)
        redis.call('PERSIST', rkey)
      else
        redis.call('ZADD', K.finished(q), epoch + result_ttl, id)
        redis.call('EXPIRE', rkey, result_ttl)
        redis.call('EXPIRE', jkey, result_ttl)
      end
    end
  elseif kind == 'fail' or kind == 'stopped' then
    local status = 'failed'
    if kind == 'stopped' then status = 'stopped' end
    redis.call('HSET', jkey, 'status', status, 'ended_at', now, 'last_heartbeat', now)
    job_ended(id, now)
    redis.call('XADD', rkey, 'MAXLEN', '~', 10, '*', 'type', 2, 'worker_name', worker_name, 'exc_string', payload,
      'execution_id', exec, 'execution_started_at', started, 'execution_ended_at', ended)
    local failure_ttl = tonumber(ttl)
    if failure_ttl and failure_ttl < 0 then
      redis.call('ZADD', K.failed(q), -1, id)
      redis.call('PERSIST', jkey)
    else
      if failure_ttl then redis.call('EXPIRE', rkey, failure_ttl) else failure_ttl = 31536000 end
      redis.call('ZADD', K.failed(q), epoch + failure_ttl, id)
      redis.call('EXPIRE', jkey, failure_ttl)
    end
  elseif kind == 'retry' then
    local interval = tonumber(x1) or 0
    redis.call('HSET', jkey, 'retries_left', x2, 'last_heartbeat', now)
    if interval <= 0 then
      redis.call('HSET', jkey, 'status', 'queued', 'enqueued_at', now)
      if payload == '1' then
        redis.call('LPUSH', K.queue(q), id)
      else
        redis.call('RPUSH', K.queue(q), id)
      end
    else
      redis.call('HSET', jkey, 'status', 'scheduled')
      redis.call('ZADD', K.scheduled(q), epoch + interval, id)
    end
    redis.call('SADD', K.queues, K.queue(q))
  elseif kind == 'requeue' then
    redis.call('HSET', jkey, 'status', 'queued', 'enqueued_at', now, 'started_at', '', 'worker_name', '')
    redis.call('LPUSH', K.queue(q), id)
    redis.call('SADD', K.queues, K.queue(q))
  end
end
if redis.call('EXISTS', worker_key) == 1 then
  if tonumber(ARGV[5]) > 0 then redis.call('HINCRBY', worker_key, 'successful_job_count', ARGV[5]) end
  if tonumber(ARGV[6]) > 0 then redis.call('HINCRBY', worker_key, 'failed_job_count', ARGV[6]) end
  if tonumber(ARGV[7]) > 0 then redis.call('HINCRBYFLOAT', worker_key, 'total_working_time', ARGV[7]) end
  if ARGV[8] == '1' then
    redis.call('HDEL', worker_key, 'current_job')
    redis.call('HSET', worker_key, 'state', 'idle', 'last_heartbeat', now)
  end
end
return 1
