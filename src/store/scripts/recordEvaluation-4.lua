--[[
  Records one evaluation and drops the oldest ones past the per-job and cluster-wide bounds.

  Input:
    KEYS[1] evaluation hash        KEYS[2] the job's evaluation sorted set
    KEYS[3] every evaluation (sorted set)   KEYS[4] evaluation sequence counter
    ARGV[1] evaluation id          ARGV[2] the record JSON
    ARGV[3] kept per job           ARGV[4] kept overall
    ARGV[5] evaluation hash key prefix (an id follows it)
    ARGV[6] retention in seconds: the evaluation and its job's set expire this long after the last write

  A dropped id's hash is deleted; the other sorted set may still name it for a while, and
  readers skip ids whose hash is gone.

  Output:
    {0, seq}   recorded with this sequence number
    {-6}       AlreadyExists
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {-6}
end
local seq = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'seq', seq)
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('ZADD', KEYS[3], seq, ARGV[1])
local function trim(set, keep)
  local over = redis.call('ZCARD', set) - keep
  if over > 0 then
    local old = redis.call('ZRANGE', set, 0, over - 1)
    for _, id in ipairs(old) do
      redis.call('DEL', ARGV[5] .. id)
    end
    redis.call('ZREMRANGEBYRANK', set, 0, over - 1)
  end
end
trim(KEYS[2], tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
trim(KEYS[3], tonumber(ARGV[4]))
return {0, seq}
