--[[
  Keeps a schedule's entry in the due index in step with its record (include with
  `--- @include "includes/indexSchedule"`).

  indexSchedule(hashKey, dueKey, id)
    The schedule is indexed, scored by `next_run_ms`, while its status is "active" and it has a
    next run; otherwise it is removed from the index.
]]
local function indexSchedule(hashKey, dueKey, id)
  local status = redis.call('HGET', hashKey, 'status')
  local nextMs = redis.call('HGET', hashKey, 'next_run_ms')
  if status == '"active"' and nextMs and nextMs ~= 'null' then
    redis.call('ZADD', dueKey, tonumber(nextMs), id)
  else
    redis.call('ZREM', dueKey, id)
  end
end
