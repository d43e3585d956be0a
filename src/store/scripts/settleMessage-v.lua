--[[
  Settles a handled inbox entry: sends what the handler emitted, writes the agent's state and a
  first complete_job, acknowledges and removes the entry, and stops counting it as outstanding,
  all in one step. Fenced by the settling node's host lease; refused when the agent was moved
  to another node. Settling an entry that is no longer pending does nothing.

  Input (variable number of keys):
    KEYS[1] inbox stream         KEYS[2] host lease of the node   KEYS[3] job agents hash
    KEYS[4] job message ids      KEYS[5] job message counters     KEYS[6] job pending per agent
    KEYS[7] job agent states     KEYS[8] job completion           KEYS[9..] target inboxes
    ARGV[1] consumer group   ARGV[2] entry id    ARGV[3] fencing token   ARGV[4] node
    ARGV[5] agent id         ARGV[6] '1' to write ARGV[7] as the agent's state
    ARGV[8] '1' to record ARGV[9] as the job's completion (if none)     ARGV[10] now (ms)
    ARGV[11] per-agent limit ARGV[12] per-job limit   ARGV[13] job id
    ARGV[14] n, then 5 arguments per message from ARGV[15] (see sendBatch)

  Output:
    {0, accepted, duplicates}     (accepted = duplicates = 0 when the entry was settled before)
    {-2, currentToken} Fenced     {-3, ''} LeaseNotHeld
    {-8, node}         AgentMoved
    {-9, object, limit} Overloaded
]]
--- @include "includes/checkFence"
--- @include "includes/sendBatch"
--- @include "includes/settleCounts"

local rc, current = checkFence(KEYS[2], ARGV[3])
if rc ~= 0 then
  return {rc, current}
end
local placed = redis.call('HGET', KEYS[3], ARGV[5])
if placed then
  local node = cjson.decode(placed).node
  if node ~= ARGV[4] then
    return {-8, node}
  end
end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 then
  return {0, 0, 0}
end
local src, accepted, dups = sendBatch(KEYS[4], KEYS[5], KEYS[6], tonumber(ARGV[11]), tonumber(ARGV[12]), '1', ARGV[13], tonumber(ARGV[14]), 15)
if src ~= 0 then
  return {src, accepted, dups}
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[7], ARGV[5], ARGV[7])
end
if ARGV[8] == '1' then
  redis.call('SET', KEYS[8], cjson.encode({agent_id = ARGV[5], result = ARGV[9], at = tonumber(ARGV[10])}), 'NX')
end
settleCounts(KEYS[5], KEYS[6], ARGV[5], false)
return {0, accepted, dups}
