--[[
  Replaces the record of an evaluation that still exists (a dropped one is not brought back).

  Input:
    KEYS[1] evaluation hash
    ARGV[1] the new record JSON
    ARGV[2] retention in seconds (the expiry starts again)

  Output:
    {0}    replaced
    {-1}   NotFound
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
redis.call('HSET', KEYS[1], 'record', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {0}
