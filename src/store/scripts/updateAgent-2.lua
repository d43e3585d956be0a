--[[
  Changes an agent's state or counters without moving it.

  Input:
    KEYS[1] job agents hash (agent id -> agent record JSON)
    KEYS[2] lease key of the fence (any key when ARGV[1] is '')
    ARGV[1] fencing token, '' when unfenced
    ARGV[2] agent id
    ARGV[3] now (epoch ms)
    ARGV[4] new state, '' to keep
    ARGV[5] new restarts, '' to keep
    ARGV[6] new attempt, '' to keep
    ARGV[7] node the agent must still be placed on, '' for any

  Output:
    {0, recordJson}      the agent after the write
    {-1}                 NotFound
    {-2, currentToken}   Fenced
    {-3, ''}             LeaseNotHeld
    {-8, node}           AgentMoved: the agent is placed on another node now
]]
--- @include "includes/checkFence"

local old = redis.call('HGET', KEYS[1], ARGV[2])
if not old then
  return {-1}
end
local rc, current = checkFence(KEYS[2], ARGV[1])
if rc ~= 0 then
  return {rc, current}
end
local rec = cjson.decode(old)
if ARGV[7] ~= '' and rec.node ~= ARGV[7] then
  return {-8, rec.node}
end
if ARGV[4] ~= '' then rec.state = ARGV[4] end
if ARGV[5] ~= '' then rec.restarts = tonumber(ARGV[5]) end
if ARGV[6] ~= '' then rec.attempt = tonumber(ARGV[6]) end
rec.updated_at = tonumber(ARGV[3])
local json = cjson.encode(rec)
redis.call('HSET', KEYS[1], ARGV[2], json)
return {0, json}
