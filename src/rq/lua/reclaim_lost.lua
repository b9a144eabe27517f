-- Jobs a dequeue took while its reply was lost (a timeout, a dropped connection): Redis ran the
-- script, the worker never heard. They sit in the started registry under this worker's name and
-- an execution id only that dequeue used; instead of waiting for their heartbeat to lapse, they
-- go back to the front of their queues in the order they were taken, as if never dequeued (their
-- abandoned count is not raised: they never ran).
-- ARGV: worker_name, now (RQ timestamp), execution id prefix (24 hex), n_queues, queue names...,
--       then pairs of (first counter, count) of the lost dequeues.
-- Returns how many jobs went back.
local name, now, prefix, nq = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local ranges = {}
for i = 5 + nq, #ARGV, 2 do
  ranges[#ranges + 1] = {tonumber(ARGV[i]), tonumber(ARGV[i + 1])}
end
-- The dequeue numbered its executions first + 1 .. first + count, modulo 2^32.
local function lost_rank(counter)
  for _, range in ipairs(ranges) do
    local rank = (counter - range[1]) % 4294967296
    if rank >= 1 and rank <= range[2] then return range[1] + rank end
  end
  return nil
end
local back = 0
for qi = 1, nq do
  local q = ARGV[4 + qi]
  local wip = K.started(q)
  local found = {}
  local cursor = '0'
  repeat
    local page = redis.call('ZSCAN', wip, cursor, 'MATCH', '*:' .. prefix .. '*', 'COUNT', 1000)
    cursor = page[1]
    for i = 1, #page[2], 2 do
      local member = page[2][i]
      local id, exec = string.match(member, '^(.*):([^:]*)$')
      if id and #exec == 32 and string.sub(exec, 1, 24) == prefix then
        local rank = lost_rank(tonumber(string.sub(exec, 25), 16) or -1)
        if rank then found[#found + 1] = {rank, id, member} end
      end
    end
  until cursor == '0'
  table.sort(found, function(a, b) return a[1] < b[1] end)
  for j = #found, 1, -1 do
    local id, member = found[j][2], found[j][3]
    local jkey = K.job(id)
    redis.call('ZREM', wip, member)
    if redis.call('HGET', jkey, 'status') == 'started' and redis.call('HGET', jkey, 'worker_name') == name then
      redis.call('HSET', jkey, 'status', 'queued', 'enqueued_at', now, 'started_at', '', 'worker_name', '')
      redis.call('LPUSH', K.queue(q), id)
      redis.call('SADD', K.queues, K.queue(q))
      back = back + 1
    end
  end
end
return back
