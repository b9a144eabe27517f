-- Functions every script shares (put after the K table of key names, before each script).
--
-- Chains: a job enqueued with a chain name waits (status deferred, in the deferred registry,
-- depending on the chain's last job through RQ's dependents/dependencies sets) until every
-- earlier job of the chain has ended. The chain's key holds the id of its last job; the job
-- hash keeps its chain's name in the field 'manage_chain'.

-- Whether a job with this status has ended for good (a missing job has too).
local function ended(status)
  return not status or status == 'finished' or status == 'failed' or status == 'stopped'
    or status == 'canceled'
end

-- Puts a job on its queue as RQ's enqueue_job does: status queued, at the front when it was
-- enqueued with at_front.
local function push_queued(id, origin, now)
  redis.call('HSET', K.job(id), 'status', 'queued', 'enqueued_at', now)
  if redis.call('HGET', K.job(id), 'enqueue_at_front') == '1' then
    redis.call('LPUSH', K.queue(origin), id)
  else
    redis.call('RPUSH', K.queue(origin), id)
  end
  redis.call('SADD', K.queues, K.queue(origin))
end

-- A job has ended for good: its dependents whose dependencies have all ended go on their
-- queues (as RQ's enqueue_dependents does), and its chain is forgotten if it was the last.
-- Returns whether the job itself waited on others, so the caller gives its dependency set the
-- job's own TTL (as RQ's Job.cleanup does) instead of leaving it forever.
local function job_ended(id, now)
  local jkey = K.job(id)
  local fields = redis.call('HMGET', jkey, 'manage_chain', 'dependency_ids')
  local chain, waited = fields[1], fields[2]
  waited = waited ~= false and waited ~= nil and waited ~= '' and waited ~= '[]'
  if chain and chain ~= '' and redis.call('GET', K.chain(chain)) == id then
    redis.call('DEL', K.chain(chain))
  end
  local dkey = K.dependents(id)
  -- Most jobs have no dependents: one EXISTS, not SMEMBERS and DEL of nothing.
  if redis.call('EXISTS', dkey) == 0 then
    return waited
  end
  for _, child in ipairs(redis.call('SMEMBERS', dkey)) do
    local ckey = K.job(child)
    if redis.call('HGET', ckey, 'status') == 'deferred' then
      local ready = true
      for _, parent in ipairs(redis.call('SMEMBERS', K.dependencies(child))) do
        if parent ~= id and not ended(redis.call('HGET', K.job(parent), 'status')) then
          ready = false
          break
        end
      end
      local origin = redis.call('HGET', ckey, 'origin')
      if ready and origin then
        redis.call('ZREM', K.deferred(origin), child)
        push_queued(child, origin, now)
      end
    end
  end
  redis.call('DEL', dkey)
  return waited
end

-- Gives an ended job's keys besides its hash the hash's lifetime: its results stream and, when
-- it waited on others, its dependency set. `ttl` < 0 keeps them as long as the job is kept.
local function expire_job_keys(id, ttl, waited)
  if ttl < 0 then
    redis.call('PERSIST', K.results(id))
    if waited then redis.call('PERSIST', K.dependencies(id)) end
  else
    redis.call('EXPIRE', K.results(id), ttl)
    if waited then redis.call('EXPIRE', K.dependencies(id), ttl) end
  end
end
