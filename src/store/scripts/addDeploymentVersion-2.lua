--[[
  Records the next version of a deployment key: number = highest + 1 (from 1). Versions are never
  rewritten.

  Input:
    KEYS[1] the key's versions hash (version number -> record JSON without version and stable)
    KEYS[2] the key's version counter
    ARGV[1] the record JSON

  Output: {0, version}
]]
local v = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], tostring(v), ARGV[1])
return {0, v}
