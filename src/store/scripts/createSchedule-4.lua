--[[
  Creates a schedule with its archived bundle and indexes its next run.

  Input:
    KEYS[1] schedule hash (a JSON value per field)   KEYS[2] set of schedule ids
    KEYS[3] archived bundle (string, JSON)           KEYS[4] due index (sorted set)
    ARGV[1] schedule id   ARGV[2] bundle JSON   ARGV[3..] field, value pairs

  Output:
    {0}   created
    {-6}  AlreadyExists
]]
--- @include "includes/indexSchedule"

if redis.call('EXISTS', KEYS[1]) == 1 then
  return {-6}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
indexSchedule(KEYS[1], KEYS[4], ARGV[1])
return {0}
