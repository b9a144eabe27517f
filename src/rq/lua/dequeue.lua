-- Takes up to `count` jobs from the first non-empty queues, in priority order, and records each
-- in its queue's started registry (rq:wip:<q>, member "<id>:<execution id>") in the same atomic
-- step, so a job is never off every list. Returns {"suspended"} while rq:suspended exists.
-- An id whose job hash does not exist is dropped from its queue and reported as {q, id, 'missing'}.
-- ARGV: worker_key, worker_name, now (RQ timestamp), epoch (int), heartbeat_ttl, count,
--       n_queues, queue names..., execution id prefix (24 hex), first execution counter,
--       then the job fields the worker reads (returned in that order, false when absent; only
--       these travel back, not the whole hash).
-- Execution ids are the prefix and an 8-hex-digit counter: 32 hex characters, like RQ's uuid4().hex.
-- RQ's per-execution hashes (rq:execution:*, rq:executions:*) are not written: only the worker
-- that owns an execution reads them, and RQ lets them expire; leaving them out saves six Redis
-- commands per job.
local worker_key, worker_name, now = ARGV[1], ARGV[2], ARGV[3]
local epoch, hb_ttl, count, nq = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if redis.call('EXISTS', K.suspended) == 1 then
  return {'suspended'}
end
local out = {'ok'}
local taken = 0
local exec_prefix, exec_counter = ARGV[8 + nq], tonumber(ARGV[9 + nq])
local wanted = {}
for i = 10 + nq, #ARGV do
  wanted[#wanted + 1] = ARGV[i]
end
for qi = 1, nq do
  if taken >= count then break end
  local q = ARGV[7 + qi]
  local qkey = K.queue(q)
  while taken < count do
    local id = redis.call('LPOP', qkey)
    if not id then break end
    local jkey = K.job(id)
    local values = redis.call('HMGET', jkey, unpack(wanted))
    local present = false
    for i = 1, #wanted do
      if values[i] then
        present = true
        break
      end
    end
    -- A hash with none of the wanted fields still exists (and fails for want of 'data').
    if present or redis.call('EXISTS', jkey) == 1 then
      taken = taken + 1
      local exec = exec_prefix .. string.format('%08x', (exec_counter + taken) % 4294967296)
      redis.call('ZADD', K.started(q), epoch + hb_ttl, id .. ':' .. exec)
      redis.call('HSET', jkey, 'status', 'started', 'started_at', now, 'last_heartbeat', now, 'worker_name', worker_name)
      redis.call('PERSIST', jkey)
      out[#out + 1] = {q, id, exec, values}
    else
      out[#out + 1] = {q, id, 'missing'}
    end
  end
end
if taken > 0 and redis.call('EXISTS', worker_key) == 1 then
  redis.call('HSET', worker_key, 'state', 'busy', 'current_job', out[#out][2], 'last_heartbeat', now)
end
return out
