-- Takes up to `count` jobs from the first non-empty queues, in priority order, and records each
-- in its queue's started registry (rq:wip:<q>, member "<id>:<execution id>") in the same atomic
-- step, so a job is never off every list. Returns {"suspended"} while rq:suspended exists.
-- An id whose job hash does not exist is dropped from its queue and reported as {q, id, 'missing'}.
-- ARGV: worker_key, worker_name, now (RQ timestamp), epoch (int), heartbeat_ttl, count,
--       n_queues, queue names..., execution ids (count of them)
local worker_key, worker_name, now = ARGV[1], ARGV[2], ARGV[3]
local epoch, hb_ttl, count, nq = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if redis.call('EXISTS', 'rq:suspended') == 1 then
  return {'suspended'}
end
local out = {'ok'}
local taken = 0
local exec_base = 7 + nq
for qi = 1, nq do
  if taken >= count then break end
  local q = ARGV[7 + qi]
  local qkey = 'rq:queue:' .. q
  while taken < count do
    local id = redis.call('LPOP', qkey)
    if not id then break end
    local jkey = 'rq:job:' .. id
    local fields = redis.call('HGETALL', jkey)
    if #fields > 0 then
      taken = taken + 1
      local exec = ARGV[exec_base + taken]
      redis.call('ZADD', 'rq:wip:' .. q, epoch + hb_ttl, id .. ':' .. exec)
      redis.call('HSET', jkey, 'status', 'started', 'started_at', now, 'last_heartbeat', now, 'worker_name', worker_name)
      redis.call('PERSIST', jkey)
      local ekey = 'rq:execution:' .. id .. ':' .. exec
      redis.call('HSET', ekey, 'id', exec, 'created_at', epoch, 'last_heartbeat', epoch, 'worker_name', worker_name)
      redis.call('EXPIRE', ekey, hb_ttl)
      redis.call('ZADD', 'rq:executions:' .. id, epoch + hb_ttl + 60, exec)
      redis.call('EXPIRE', 'rq:executions:' .. id, hb_ttl + 60)
      out[#out + 1] = {q, id, exec, fields}
    else
      out[#out + 1] = {q, id, 'missing'}
    end
  end
end
if taken > 0 and redis.call('EXISTS', worker_key) == 1 then
  redis.call('HSET', worker_key, 'state', 'busy', 'current_job', out[#out][2], 'last_heartbeat', now)
end
return out
