--[[
  Writes fields of a registered service instance (health after a round of checks, deployment
  metadata), never creating one: an instance deregistered meanwhile stays gone.

  Input:
    KEYS[1] instance hash
    ARGV[1] node (JSON) the instance must still be registered on, '' for any
    ARGV[2] n, then n field names and n JSON values from ARGV[3]

  Output:
    {1, previous status JSON}   written
    {0}                         not registered (or registered on another node): nothing written
]]
local current = redis.call('HMGET', KEYS[1], 'node', 'status')
if not current[1] then
  return {0}
end
if ARGV[1] ~= '' and current[1] ~= ARGV[1] then
  return {0}
end
local n = tonumber(ARGV[2])
for i = 1, n do
  redis.call('HSET', KEYS[1], ARGV[2 + i], ARGV[2 + n + i])
end
return {1, current[2]}
