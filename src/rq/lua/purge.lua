-- Removes ended jobs for good from one registry of a queue (failed or finished): the registry
-- entry, the hash, the results, the dependency sets and executions. A job whose dependents
-- still wait lets them go first.
-- ARGV: registry ('failed' or 'finished'), queue, now (RQ timestamp), then job ids
-- Returns how many were in the registry and are gone.
local registry, q, now = ARGV[1], ARGV[2], ARGV[3]
local rkey = K[registry](q)
local removed = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('ZREM', rkey, id) == 1 then
    job_ended(id, now)
    for _, exec in ipairs(redis.call('ZRANGE', K.executions(id), 0, -1)) do
      redis.call('DEL', K.execution(id, exec))
    end
    redis.call('DEL', K.job(id), K.results(id), K.dependents(id), K.dependencies(id), K.executions(id))
    removed = removed + 1
  end
end
return removed
