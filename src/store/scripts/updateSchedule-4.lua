--[[
  Patches a schedule, checking fence and version in the same step, and re-indexes its next run.

  Input:
    KEYS[1] schedule hash   KEYS[2] lease key of the fence (any key when ARGV[1] is '')
    KEYS[3] due index       KEYS[4] counters hash
    ARGV[1] fencing token, '' when unfenced   ARGV[2] expected version, '' for any
    ARGV[3] updated_at (JSON)   ARGV[4] schedule id
    ARGV[5] c, then c counter name, increment pairs; then field, value pairs to the end

  Output:
    {0}                  updated
    {-1}                 NotFound
    {-2, currentToken}   Fenced
    {-3, ''}             LeaseNotHeld
    {-4, currentVersion} VersionMismatch
]]
--- @include "includes/checkFence"
--- @include "includes/indexSchedule"

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local rc, current = checkFence(KEYS[2], ARGV[1])
if rc ~= 0 then
  return {rc, current}
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version'))
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= version then
  return {-4, tostring(version)}
end
local c = tonumber(ARGV[5])
for k = 1, c do
  redis.call('HINCRBY', KEYS[4], ARGV[5 + 2 * k - 1], tonumber(ARGV[5 + 2 * k]))
end
local first = 6 + 2 * c
if #ARGV > first then
  redis.call('HSET', KEYS[1], unpack(ARGV, first))
end
redis.call('HSET', KEYS[1], 'version', version + 1, 'updated_at', ARGV[3])
indexSchedule(KEYS[1], KEYS[3], ARGV[4])
return {0}
