--[[
  Adds a value to an agent's collection unless its key is present (aggregator dedupe).

  Input:
    KEYS[1] the collection's key hash  KEYS[2] the collection's value list
    KEYS[3] the job's set of collection keys (for removal with the job)
    ARGV[1] key  ARGV[2] value

  Output: {added (1|0), size}
]]
local added = redis.call('HSETNX', KEYS[1], ARGV[1], '1')
if added == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[3], KEYS[1], KEYS[2])
end
return {added, redis.call('LLEN', KEYS[2])}
