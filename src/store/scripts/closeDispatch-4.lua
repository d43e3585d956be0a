--[[
  Replaces one recorded dispatch (a window closed it) and drops its job from the active ids.

  Input:
    KEYS[1] schedule hash   KEYS[2] lease key of the fence (any key when ARGV[1] is '')
    KEYS[3] dispatch list   KEYS[4] active job id set
    ARGV[1] fencing token, '' when unfenced   ARGV[2] dispatch id
    ARGV[3] the dispatch's new JSON           ARGV[4] its job id, '' for none
    ARGV[5] updated_at (JSON)

  Output:
    {0}                 replaced
    {-1}                NotFound (the schedule or the dispatch)
    {-2, currentToken}  Fenced
    {-3, ''}            LeaseNotHeld
]]
--- @include "includes/checkFence"

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local rc, current = checkFence(KEYS[2], ARGV[1])
if rc ~= 0 then
  return {rc, current}
end
local needle = '"dispatch_id":"' .. ARGV[2] .. '"'
local list = redis.call('LRANGE', KEYS[3], 0, -1)
for index, item in ipairs(list) do
  if string.find(item, needle, 1, true) then
    redis.call('LSET', KEYS[3], index - 1, ARGV[3])
    if ARGV[4] ~= '' then
      redis.call('SREM', KEYS[4], ARGV[4])
    end
    redis.call('HINCRBY', KEYS[1], 'version', 1)
    redis.call('HSET', KEYS[1], 'updated_at', ARGV[5])
    return {0}
  end
end
return {-1}
