--[[
  One message stops being outstanding (include with `--- @include "includes/settleCounts"`).

  settleCounts(kCounts, kPending, agentId, dead)
    dead  true when the message is dead-lettered (counted in dead_letters)
]]
local function settleCounts(kCounts, kPending, agentId, dead)
  local left = redis.call('HINCRBY', kCounts, 'outstanding', -1)
  if left < 0 then
    redis.call('HSET', kCounts, 'outstanding', 0)
  end
  if dead then
    redis.call('HINCRBY', kCounts, 'dead_letters', 1)
  end
  if redis.call('HINCRBY', kPending, agentId, -1) <= 0 then
    redis.call('HDEL', kPending, agentId)
  end
end
