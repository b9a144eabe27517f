-- Enqueues a batch of jobs in one atomic step, in order. The caller writes each job's hash in
-- the same MULTI, just before this script (native HSETs: a job's fields, its zlib data above
-- all, cost twice as much when copied through Lua). A job with a chain name depends on the
-- chain's last job when that one has not ended: it is written as deferred (RQ's depends_on with
-- allow_dependency_failures, so a Python RQ worker that ends the parent enqueues it too) and
-- goes on its queue when the parent ends. Jobs without a chain are pushed as RQ pushes them.
-- ARGV: now (RQ timestamp), epoch (integer seconds), then per job: id, queue, at_front ('1' or
--       '0'), chain ('' for none; its hash carries it as manage_chain).
-- Returns the ids that were deferred.
local now, epoch = ARGV[1], tonumber(ARGV[2])
local deferred = {}
local queues = {}
local ids = {}
for i = 3, #ARGV, 4 do
  ids[#ids + 1] = ARGV[i]
end
local pushed = 0
local ok, err = pcall(function()
  local i = 3
  while i <= #ARGV do
    local id, q, at_front, chain = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    local jkey = K.job(id)
    i = i + 4
    local parent = nil
    if chain ~= '' then
      local last = redis.call('GET', K.chain(chain))
      if last and last ~= id and not ended(redis.call('HGET', K.job(last), 'status')) then
        parent = last
      end
      redis.call('SET', K.chain(chain), id)
    end
    if parent then
      redis.call('HSET', jkey, 'status', 'deferred', 'enqueued_at', '',
        'dependency_ids', '["' .. parent .. '"]', 'allow_dependency_failures', '1')
      redis.call('ZADD', K.deferred(q), epoch, id)
      redis.call('SADD', K.dependents(parent), id)
      redis.call('SADD', K.dependencies(id), parent)
      deferred[#deferred + 1] = id
    elseif at_front == '1' then
      redis.call('LPUSH', K.queue(q), id)
    else
      redis.call('RPUSH', K.queue(q), id)
    end
    queues[q] = true
    pushed = pushed + 1
  end
  for q in pairs(queues) do
    redis.call('SADD', K.queues, K.queue(q))
  end
end)
if not ok then
  -- A key of the wrong type (a queue or chain key someone overwrote) stopped it: the hashes the
  -- MULTI wrote for the jobs not pushed go too, so none is left on no queue.
  for j = pushed + 1, #ids do
    redis.call('DEL', K.job(ids[j]))
  end
  local why = type(err) == 'table' and (err.err or err.message) or tostring(err)
  return redis.error_reply('ERR enqueue stopped at job ' .. tostring(ids[pushed + 1]) .. ' of its batch ('
    .. pushed .. ' before it were queued, it and the rest were not): ' .. tostring(why))
end
return deferred
