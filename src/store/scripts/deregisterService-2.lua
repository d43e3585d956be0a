--[[
  Removes a service instance and its index entries.

  Input:
    KEYS[1] instance hash   KEYS[2] set of every instance id
    ARGV[1] instance id
    ARGV[2] index key prefix (`<ns>:services:`)
    ARGV[3] node (JSON) the instance must still be registered on, '' for any

  Output: the removed instance's fields as a flat list (field, JSON value, ...), or {} when it was
  not registered (or registered on another node).
]]
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  return {}
end
local f = {}
for i = 1, #fields, 2 do
  f[fields[i]] = fields[i + 1]
end
if ARGV[3] ~= '' and f.node ~= ARGV[3] then
  return {}
end
redis.call('SREM', ARGV[2] .. 'name:' .. cjson.decode(f.name), ARGV[1])
redis.call('SREM', ARGV[2] .. 'job:' .. cjson.decode(f.job_id), ARGV[1])
redis.call('SREM', ARGV[2] .. 'node:' .. cjson.decode(f.node), ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return fields
