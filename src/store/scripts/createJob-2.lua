--[[
  Creates a job record.

  Input:
    KEYS[1] job hash
    KEYS[2] set of job ids
    ARGV[1] job id
    ARGV[2..] field, value pairs (values JSON-encoded)

  Output:
    {0}   created
    {-6}  AlreadyExists
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {-6}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SADD', KEYS[2], ARGV[1])
return {0}
