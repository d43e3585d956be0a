--[[
  Creates a deployment and makes it its key's current one, unless the key's current deployment
  is still active (running, awaiting promotion or paused).

  Input:
    KEYS[1] deployment hash       KEYS[2] set of every deployment id
    KEYS[3] the key's current deployment id (string)
    KEYS[4] the key's deployment ids (set)   KEYS[5] set of every deployment key
    ARGV[1] deployment id    ARGV[2] deployment key
    ARGV[3] deployment hash key prefix (`<ns>:deployment:`): the current one is ARGV[3] .. id
    ARGV[4] n, then n field names and n JSON values from ARGV[5]

  Output:
    {0}                      created
    {-6}                     AlreadyExists (the id)
    {-11, currentId, status} Busy: the key's current deployment is active
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {-6}
end
local current = redis.call('GET', KEYS[3])
if current then
  local status = redis.call('HGET', ARGV[3] .. current, 'status')
  if status then
    local s = cjson.decode(status)
    if s == 'running' or s == 'awaiting_promotion' or s == 'paused' then
      return {-11, current, s}
    end
  end
end
local n = tonumber(ARGV[4])
for i = 1, n do
  redis.call('HSET', KEYS[1], ARGV[4 + i], ARGV[4 + n + i])
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[2])
return {0}
