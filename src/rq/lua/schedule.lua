-- Moves due jobs from a queue's scheduled registry back onto the queue, under RQ's scheduler
-- lock (shared with Python RQ's scheduler, so only one process moves a queue's jobs).
-- ARGV: queue, scheduler name, now (RQ timestamp), epoch (int), lock ttl
-- Returns the number moved, or -1 when another scheduler holds the lock.
local q, name, now, epoch, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local lock = K.scheduler_lock(q)
local holder = redis.call('GET', lock)
if holder and holder ~= name then return -1 end
redis.call('SET', lock, name, 'EX', ttl)
local due = redis.call('ZRANGEBYSCORE', K.scheduled(q), 0, epoch, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', K.scheduled(q), id)
  if redis.call('EXISTS', K.job(id)) == 1 then
    push_queued(id, q, now)
  end
end
return #due
