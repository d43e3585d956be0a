--[[
  Commits one dispatch of a schedule atomically: claims the dispatch token, creates the child
  job, records the dispatch (50 newest kept), updates the active job ids and the counters,
  applies the schedule's changes and re-indexes its next run. A token claimed before commits
  nothing: this is what makes dispatch exactly-once across leaders.

  Input:
    KEYS[1] schedule hash        KEYS[2] dispatch token key (string, the dispatch JSON, PX TTL)
    KEYS[3] lease key of the fence (any key when ARGV[1] is '')
    KEYS[4] dispatch list        KEYS[5] active job id set   KEYS[6] counters hash
    KEYS[7] due index            KEYS[8] child job hash      KEYS[9] set of job ids
    ARGV[1] fencing token, '' when unfenced
    ARGV[2] token TTL (ms)       ARGV[3] dispatch JSON       ARGV[4] schedule id
    ARGV[5] child job id, '' when the dispatch has no job
    ARGV[6] 1 when the job id becomes active, else 0
    ARGV[7] updated_at (JSON)
    ARGV[8] c, then c counter name, increment pairs
    then    p, then p job ids to drop from the active set
    then    f, then f schedule field, value pairs
    then    the child job's field, value pairs (to the end)

  Output:
    {0}                  committed
    {1, dispatchJson}    the token was committed before: nothing written
    {-1}                 NotFound (the schedule)
    {-2, currentToken}   Fenced
    {-3, ''}             LeaseNotHeld
    {-6}                 AlreadyExists (the child job id)
]]
--- @include "includes/checkFence"
--- @include "includes/indexSchedule"

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local rc, current = checkFence(KEYS[3], ARGV[1])
if rc ~= 0 then
  return {rc, current}
end
local earlier = redis.call('GET', KEYS[2])
if earlier then
  return {1, earlier}
end
local i = 8
local c = tonumber(ARGV[i])
local counters = {}
for k = 1, c do
  counters[#counters + 1] = {ARGV[i + 2 * k - 1], ARGV[i + 2 * k]}
end
i = i + 2 * c + 1
local p = tonumber(ARGV[i])
local prune = {}
for k = 1, p do
  prune[#prune + 1] = ARGV[i + k]
end
i = i + p + 1
local f = tonumber(ARGV[i])
local fields = {}
for k = 1, 2 * f do
  fields[#fields + 1] = ARGV[i + k]
end
i = i + 2 * f + 1
if ARGV[5] ~= '' then
  if redis.call('EXISTS', KEYS[8]) == 1 then
    return {-6}
  end
  local job = {}
  for k = i, #ARGV do
    job[#job + 1] = ARGV[k]
  end
  redis.call('HSET', KEYS[8], unpack(job))
  redis.call('SADD', KEYS[9], ARGV[5])
end
redis.call('SET', KEYS[2], ARGV[3], 'PX', tonumber(ARGV[2]))
redis.call('LPUSH', KEYS[4], ARGV[3])
redis.call('LTRIM', KEYS[4], 0, 49)
for _, id in ipairs(prune) do
  redis.call('SREM', KEYS[5], id)
end
if ARGV[6] == '1' then
  redis.call('SADD', KEYS[5], ARGV[5])
end
for _, pair in ipairs(counters) do
  redis.call('HINCRBY', KEYS[6], pair[1], tonumber(pair[2]))
end
if #fields > 0 then
  redis.call('HSET', KEYS[1], unpack(fields))
end
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'updated_at', ARGV[7])
indexSchedule(KEYS[1], KEYS[7], ARGV[4])
return {0}
