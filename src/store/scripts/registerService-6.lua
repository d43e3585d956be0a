--[[
  Registers (or replaces) a service instance and keeps its indexes right: an instance registered
  again under another name, job or node leaves its old index sets.

  Input:
    KEYS[1] instance hash            KEYS[2] set of every instance id
    KEYS[3] name index set           KEYS[4] job index set        KEYS[5] node index set
    KEYS[6] lease key of the fence (any key when ARGV[1] is '')
    ARGV[1] fencing token, '' when unfenced
    ARGV[2] instance id
    ARGV[3] index key prefix (`<ns>:services:`): old indexes are `<prefix>name:<v>`, `job:<v>`, `node:<v>`
    ARGV[4] n, then n field names and n JSON values from ARGV[5]

  Output:
    {0}                  registered
    {-2, currentToken}   Fenced       {-3, ''} LeaseNotHeld
]]
--- @include "includes/checkFence"

local rc, current = checkFence(KEYS[6], ARGV[1])
if rc ~= 0 then
  return {rc, current}
end
local old = redis.call('HMGET', KEYS[1], 'name', 'job_id', 'node')
if old[1] then
  redis.call('SREM', ARGV[3] .. 'name:' .. cjson.decode(old[1]), ARGV[2])
  redis.call('SREM', ARGV[3] .. 'job:' .. cjson.decode(old[2]), ARGV[2])
  redis.call('SREM', ARGV[3] .. 'node:' .. cjson.decode(old[3]), ARGV[2])
end
redis.call('DEL', KEYS[1])
local n = tonumber(ARGV[4])
for i = 1, n do
  redis.call('HSET', KEYS[1], ARGV[4 + i], ARGV[4 + n + i])
end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[2])
return {0}
