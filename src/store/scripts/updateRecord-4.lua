--[[
  Patches a versioned record (job or node hash), checking fence and version in the same step.

  Input:
    KEYS[1] record hash (fields JSON-encoded; `version` and `updated_at` are integers)
    KEYS[2] lease key of the fence (any key when ARGV[1] is '')
    KEYS[3] first companion key that shares the record's retention (job agents hash)
    KEYS[4] second companion key (job events stream); pass KEYS[1] when there is none
    ARGV[1] fencing token, '' when unfenced
    ARGV[2] expected version, '' for any
    ARGV[3] now (epoch ms)
    ARGV[4] retention: '' leave as is, '0' persist, N > 0 expire all of KEYS[1], KEYS[3], KEYS[4]
            after N seconds
    ARGV[5..] field, value pairs

  Output:
    {0, field, value, ...}  the record after the write, all fields but the plan
    {-1}                    NotFound
    {-2, currentToken}      Fenced
    {-3, ''}                LeaseNotHeld
    {-4, currentVersion}    VersionMismatch
]]
--- @include "includes/checkFence"
--- @include "includes/fieldsButPlan"

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
if #ARGV >= 6 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 5))
end
redis.call('HSET', KEYS[1], 'version', version + 1, 'updated_at', ARGV[3])
if ARGV[4] ~= '' then
  local ttl = tonumber(ARGV[4])
  for _, key in ipairs({KEYS[1], KEYS[3], KEYS[4]}) do
    if ttl > 0 then
      redis.call('EXPIRE', key, ttl)
    else
      redis.call('PERSIST', key)
    end
  end
end
return fieldsButPlan(KEYS[1])
