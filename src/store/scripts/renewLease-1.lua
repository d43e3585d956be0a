--[[
  Extends a lease held by the caller.

  Input:
    KEYS[1] lease key
    ARGV[1] holder id
    ARGV[2] fencing token
    ARGV[3] ttl in ms

  Output:
    1  renewed
    0  not held by ARGV[1] with token ARGV[2] (lapsed, released or taken over)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] .. '|' .. ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
