-- Writes the outcomes of a batch of jobs, each as RQ 2.12 does: status, registry, results stream,
-- TTLs, and the removal from the started registry, all in one atomic step. A job that ended for
-- good (finished, failed, stopped) lets its dependents go (lib.lua's job_ended). Every attempt
-- gets a result in the job's results stream (kept to RQ's 10 newest): one that will be retried a
-- RETRIED result (type 4), which RQ 2.12 itself does not write but reads. The job hash keeps
-- the number of its last attempt in 'manage_attempts'.
-- ARGV: worker_key, worker_name, now (RQ timestamp), epoch (int), successes, failures,
--       working_seconds, idle ("1" when nothing is left in flight), then records of 13:
--       kind, id, queue, execution, payload, ttl, started (float), ended (float), x1, x2, x3,
--       details (JSON, or "" for none; stored in the result's 'details' field), attempt
-- kinds: ok (payload = base64 result or ""; ttl = result_ttl or "")
--        fail / stopped (payload = base64(zlib(reason)); ttl = failure_ttl or "")
--        retry (payload = base64(zlib(reason)); ttl = failure_ttl or ""; x1 = interval seconds,
--               x2 = retries left, x3 = "1" to go to the front)
--        requeue (back to the front of its queue, as queued: shutdown or abandoned)
--        park (set aside by its function: deferred, in the sorted set x1 scored x2)
local worker_key, worker_name, now = ARGV[1], ARGV[2], ARGV[3]
local epoch = tonumber(ARGV[4])

-- Appends a result to a job's stream, keeping RQ's cap of 10 exactly.
local function result(id, fields, details)
  if details ~= '' then
    fields[#fields + 1] = 'details'
    fields[#fields + 1] = details
  end
  redis.call('XADD', K.results(id), 'MAXLEN', 10, '*', unpack(fields))
end

local i = 9
while i + 12 <= #ARGV do
  local kind, id, q, exec = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local payload, ttl, started, ended = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local x1, x2, x3, details = ARGV[i + 8], ARGV[i + 9], ARGV[i + 10], ARGV[i + 11]
  local attempt = ARGV[i + 12]
  i = i + 13
  local jkey = K.job(id)
  local rkey = K.results(id)
  local run = {'worker_name', worker_name, 'execution_id', exec, 'execution_started_at', started,
    'execution_ended_at', ended}
  redis.call('ZREM', K.started(q), id .. ':' .. exec)
  if redis.call('EXISTS', jkey) == 0 then
    -- deleted while it ran: nothing left to record
  elseif kind == 'ok' then
    local result_ttl = tonumber(ttl) or 500
    local waited = job_ended(id, now)
    if result_ttl == 0 then
      redis.call('DEL', jkey)
      if waited then redis.call('DEL', K.dependencies(id)) end
    else
      redis.call('HSET', jkey, 'status', 'finished', 'ended_at', now, 'last_heartbeat', now,
        'manage_attempts', attempt)
      local fields = {'type', 1, unpack(run)}
      if payload ~= '' then
        fields[#fields + 1] = 'return_value'
        fields[#fields + 1] = payload
      end
      result(id, fields, details)
      expire_job_keys(id, result_ttl, waited)
      if result_ttl < 0 then
        redis.call('ZADD', K.finished(q), '+inf', id)
      else
        redis.call('ZADD', K.finished(q), epoch + result_ttl, id)
        redis.call('EXPIRE', jkey, result_ttl)
      end
    end
  elseif kind == 'fail' or kind == 'stopped' then
    local status = 'failed'
    if kind == 'stopped' then status = 'stopped' end
    redis.call('HSET', jkey, 'status', status, 'ended_at', now, 'last_heartbeat', now,
      'manage_attempts', attempt)
    local waited = job_ended(id, now)
    result(id, {'type', 2, 'exc_string', payload, unpack(run)}, details)
    -- RQ's default failure_ttl is a year; the results stream goes with the hash either way.
    local failure_ttl = tonumber(ttl) or 31536000
    expire_job_keys(id, failure_ttl, waited)
    if failure_ttl < 0 then
      redis.call('ZADD', K.failed(q), -1, id)
      redis.call('PERSIST', jkey)
    else
      redis.call('ZADD', K.failed(q), epoch + failure_ttl, id)
      redis.call('EXPIRE', jkey, failure_ttl)
    end
  elseif kind == 'retry' then
    local interval = tonumber(x1) or 0
    redis.call('HSET', jkey, 'retries_left', x2, 'last_heartbeat', now, 'manage_attempts', attempt)
    result(id, {'type', 4, 'exc_string', payload, unpack(run)}, details)
    if tonumber(ttl) then redis.call('EXPIRE', rkey, tonumber(ttl)) end
    if interval <= 0 then
      redis.call('HSET', jkey, 'status', 'queued', 'enqueued_at', now)
      if x3 == '1' then
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
  elseif kind == 'park' then
    redis.call('HSET', jkey, 'status', 'deferred', 'started_at', '', 'worker_name', '')
    redis.call('ZADD', K.deferred(q), epoch, id)
    redis.call('ZADD', x1, x2, id)
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
