-- Releases the scheduler locks a stopping worker holds, as RQ's scheduler does when it stops
-- (release_locks), so the next scheduler takes the queues at once instead of after the lock's
-- 60 s. Locks held by another scheduler are left alone.
-- ARGV: scheduler name, then the queues.
local name = ARGV[1]
local released = 0
for i = 2, #ARGV do
  local lock = K.scheduler_lock(ARGV[i])
  if redis.call('GET', lock) == name then
    redis.call('DEL', lock)
    released = released + 1
  end
end
return released
