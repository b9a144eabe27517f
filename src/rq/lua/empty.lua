-- Empties a queue, as `rq empty` does, a slice at a time so a long queue does not hold Redis:
-- pops up to `limit` ids and deletes their jobs (hash, results, dependency sets, executions).
-- Jobs that waited for one of them go on their queues (lib.lua's job_ended), so nothing is left
-- waiting for a job that no longer exists.
-- ARGV: queue, limit, now (RQ timestamp)
-- Returns {removed, left in the queue}.
local q, limit, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local qkey = K.queue(q)
local removed = 0
while removed < limit do
  local id = redis.call('LPOP', qkey)
  if not id then break end
  local jkey = K.job(id)
  if redis.call('EXISTS', jkey) == 1 then
    redis.call('HSET', jkey, 'status', 'canceled')
    job_ended(id, now)
  end
  for _, exec in ipairs(redis.call('ZRANGE', K.executions(id), 0, -1)) do
    redis.call('DEL', K.execution(id, exec))
  end
  redis.call('DEL', jkey, K.results(id), K.dependents(id), K.dependencies(id), K.executions(id))
  removed = removed + 1
end
return {removed, redis.call('LLEN', qkey)}
