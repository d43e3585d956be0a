--[[
  Acknowledges an inbox entry and records it as a dead letter of its job, or only drops it.
  Fenced by the node's host lease when the daemon that runs the node's agents settles it.

  Input:
    KEYS[1] inbox stream  KEYS[2] job dead letters list  KEYS[3] job message counters
    KEYS[4] job pending per agent
    KEYS[5] lease key of the fence (any key when ARGV[5] is '')
    ARGV[1] consumer group  ARGV[2] entry id  ARGV[3] agent id
    ARGV[4] dead letter JSON, '' to drop the entry without recording it
    ARGV[5] fencing token, '' when unfenced

  Output:
    {0, 1} when settled, {0, 0} when the entry was no longer pending
    {-2, currentToken} Fenced     {-3, ''} LeaseNotHeld
]]
--- @include "includes/takeEntry"
--- @include "includes/settleCounts"

local refused = takeEntry(KEYS[5], ARGV[5], KEYS[1], ARGV[1], ARGV[2])
if refused then
  return refused
end
local dead = ARGV[4] ~= ''
if dead then
  redis.call('RPUSH', KEYS[2], ARGV[4])
end
settleCounts(KEYS[3], KEYS[4], ARGV[3], dead)
return {0, 1}
