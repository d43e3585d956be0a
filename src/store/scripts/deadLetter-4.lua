--[[
  Acknowledges an inbox entry and records it as a dead letter of its job, or only drops it.

  Input:
    KEYS[1] inbox stream  KEYS[2] job dead letters list  KEYS[3] job message counters
    KEYS[4] job pending per agent
    ARGV[1] consumer group  ARGV[2] entry id  ARGV[3] agent id
    ARGV[4] dead letter JSON, '' to drop the entry without recording it

  Output: 1 when settled, 0 when the entry was no longer pending
]]
--- @include "includes/settleCounts"

if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
local dead = ARGV[4] ~= ''
if dead then
  redis.call('RPUSH', KEYS[2], ARGV[4])
end
settleCounts(KEYS[3], KEYS[4], ARGV[3], dead)
return 1
