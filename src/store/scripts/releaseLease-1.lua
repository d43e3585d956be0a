--[[
  Releases a lease held by the caller. The epoch counter is kept, so tokens never repeat.

  Input:
    KEYS[1] lease key
    ARGV[1] holder id
    ARGV[2] fencing token

  Output:
    1  released
    0  not held by ARGV[1] with token ARGV[2]
]]
if redis.call('GET', KEYS[1]) == ARGV[1] .. '|' .. ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
