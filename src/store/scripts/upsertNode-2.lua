--[[
  Registers a node or refreshes its record.

  Input:
    KEYS[1] node hash
    KEYS[2] set of node names
    ARGV[1] node name
    ARGV[2] now (epoch ms)
    ARGV[3] n: number of field, value pairs always written
    ARGV[4 .. 3+2n] those pairs
    ARGV[4+2n ..] field, value pairs written only when the node is new (defaults)

  Output:
    {0, field, value, ...}  the record after the write (HGETALL)
]]
local exists = redis.call('EXISTS', KEYS[1]) == 1
local n = tonumber(ARGV[3])
for i = 4, 3 + 2 * n, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
for i = 4 + 2 * n, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
if exists then
  redis.call('HINCRBY', KEYS[1], 'version', 1)
else
  redis.call('HSET', KEYS[1], 'version', 1)
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, 0)
return out
