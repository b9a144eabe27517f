-- Deletes a job everywhere RQ keeps it, as NetBox's delete button (`Job.delete`) does: off its
-- queue list, out of every registry of its queue, then its hash, results, executions and
-- dependency sets, in one atomic step. Jobs that depend on it (a chain's next job) go on their
-- queues instead of waiting for it forever.
-- ARGV: job id (already checked against RQ's id rules, so it is safe in a MATCH pattern), now.
-- Returns {status, origin} of the deleted job, or {} when there is no such job.
local id = ARGV[1]
local jkey = K.job(id)
if redis.call('EXISTS', jkey) == 0 then
  return {}
end
local status = redis.call('HGET', jkey, 'status') or ''
local origin = redis.call('HGET', jkey, 'origin') or ''
if origin ~= '' then
  redis.call('LREM', K.queue(origin), 0, id)
  redis.call('LREM', K.intermediate(origin), 0, id)
  for _, registry in ipairs({K.finished, K.failed, K.scheduled, K.deferred, K.canceled}) do
    redis.call('ZREM', registry(origin), id)
  end
  local wip = K.started(origin)
  local members = {}
  local cursor = '0'
  repeat
    local page = redis.call('ZSCAN', wip, cursor, 'MATCH', id .. ':*', 'COUNT', 1000)
    cursor = page[1]
    for i = 1, #page[2], 2 do members[#members + 1] = page[2][i] end
  until cursor == '0'
  for _, member in ipairs(members) do redis.call('ZREM', wip, member) end
end
-- Its dependents must not wait for it forever.
redis.call('HSET', jkey, 'status', 'canceled')
job_ended(id, ARGV[2])
for _, exec in ipairs(redis.call('ZRANGE', K.executions(id), 0, -1)) do
  redis.call('DEL', K.execution(id, exec))
end
redis.call('DEL', jkey, K.results(id), K.dependents(id),
  K.dependencies(id), K.executions(id))
return {status, origin}
