--[[
  Records a node heartbeat that stays valid for a TTL.

  Input:
    KEYS[1] node hash
    KEYS[2] node heartbeat key
    ARGV[1] now (epoch ms)
    ARGV[2] ttl in ms

  Output:
    {0}   recorded
    {-1}  NotFound: the node is not registered
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {0}
