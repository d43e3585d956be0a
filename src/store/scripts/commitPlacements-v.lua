--[[
  Commits placements of one job atomically: job plan and status, agent records and the node
  usage counters change together or not at all.

  Node usage keys are derived from ARGV[6] .. node .. ARGV[7] because the set of nodes an
  agent leaves is only known inside the script; this needs a single Redis primary (plain or
  Sentinel-managed), not Redis Cluster.

  Input (variable number of keys: 3, or 4 with staged placements):
    KEYS[1] job hash
    KEYS[2] job agents hash (agent id -> agent record JSON)
    KEYS[3] lease key of the fence
    ARGV[1] fencing token (required)
    ARGV[2] mode: 'replace' (agents not listed are removed) or 'merge'
    ARGV[3] now (epoch ms)
    ARGV[4] plan JSON, '' to keep
    ARGV[5] status JSON, '' to keep
    ARGV[6] node usage key prefix, ARGV[7] node usage key suffix
    ARGV[8] node holds key suffix (hash: exclusive resource key -> owner)
    KEYS[4] (optional) a list staging the placement groups below (a big commit sends them in
            chunks first); read and deleted here, and then ARGV holds none of them
    ARGV[9] p: number of placements, then p groups of 8 (unless staged in KEYS[4]):
            agent id, node, cpu millicores, memory MB, disk MB, GPUs, resources JSON,
            holds JSON (list of exclusive keys such as "port:tcp:8080", "device:GPU-0")
    then    c: number of capacity limits, then c groups of 5:
            node, cpu millicores, memory MB, disk MB, GPUs ('' = unlimited)
    then    e: number of evictions (preemption), then (when e > 0) the job key prefix and the
            agents key suffix (job key = prefix .. id, agents key = prefix .. id .. suffix),
            then e groups of 3: victim job id, agent id, node it must still be on; a victim
            keeps its node, becomes 'preempted' with no resources and no holds

  Output:
    {0, field, value, ...}   the job record after the write, all fields but the plan
    {-1}                     NotFound (job)
    {-4, 'staged'}           the staging list lapsed (VersionMismatch: commit again); nothing written
    {-2, currentToken}       Fenced
    {-3, ''}                 LeaseNotHeld
    {-5, node, dimension}    CapacityExceeded: nothing written
    {-7, node, hold, owner}  HoldConflict: another agent holds that port or device; nothing written
    {-8, node}               AgentMoved: an agent to evict is no longer on its node; nothing written
]]
--- @include "includes/checkFence"
--- @include "includes/fieldsButPlan"

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
-- Staged placement groups are taken first, so the staging list is gone whatever the outcome.
local PA, pbase = ARGV, 10
local p = tonumber(ARGV[9])
local rest = 10 + p * 8
if KEYS[4] then
  PA = redis.call('LRANGE', KEYS[4], 0, -1)
  redis.call('DEL', KEYS[4])
  pbase, rest = 1, 10
  if #PA ~= p * 8 then
    -- The staging list lapsed before this ran: the caller commits again.
    return {-4, 'staged'}
  end
end

local rc, current = checkFence(KEYS[3], ARGV[1])
if rc ~= 0 then
  return {rc, current}
end

local replace = ARGV[2] == 'replace'
local now = ARGV[3]
local prefix, suffix = ARGV[6], ARGV[7]
local FIELDS = {'cpu_millis', 'memory_mb', 'disk_mb', 'gpu_count', 'agents'}

-- node -> {cpu, memory, disk, gpus, agents} deltas
local delta = {}
local function add(node, sign, cpu, mem, disk, gpu)
  local d = delta[node]
  if not d then
    d = {0, 0, 0, 0, 0}
    delta[node] = d
  end
  d[1] = d[1] + sign * cpu
  d[2] = d[2] + sign * mem
  d[3] = d[3] + sign * disk
  d[4] = d[4] + sign * gpu
  d[5] = d[5] + sign
end
local function round(x)
  return math.floor((tonumber(x) or 0) + 0.5)
end
local holdSuffix = ARGV[8]
local function owner(id)
  return KEYS[2] .. '/' .. id
end
-- node .. '\0' .. hold -> owner, for holds this commit gives back
local freed = {}
local frees = {}
local function release(rec)
  -- A preempted agent gave back its usage and holds when it was evicted.
  if rec.state == 'preempted' then
    return
  end
  local r = rec.resources or {}
  add(rec.node, -1, round((tonumber(r.cpu_cores) or 0) * 1000), round(r.memory_mb), round(r.disk_mb), round(r.gpu_count))
  if type(rec.holds) == 'table' then
    for _, h in ipairs(rec.holds) do
      freed[rec.node .. '\0' .. h] = owner(rec.agent_id)
      frees[#frees + 1] = {rec.node, h, owner(rec.agent_id)}
    end
  end
end

local takes = {}
local listed = {}
local writes = {}
for i = 0, p - 1 do
  local o = pbase + i * 8
  local id, node = PA[o], PA[o + 1]
  listed[id] = true
  local restarts, attempt, state = 0, 1, 'pending'
  local old = redis.call('HGET', KEYS[2], id)
  if old then
    local rec = cjson.decode(old)
    release(rec)
    restarts = tonumber(rec.restarts) or 0
    attempt = tonumber(rec.attempt) or 1
    if rec.node ~= node or rec.state == 'preempted' then
      attempt = attempt + 1
    else
      state = rec.state or state
    end
  end
  add(node, 1, tonumber(PA[o + 2]), tonumber(PA[o + 3]), tonumber(PA[o + 4]), tonumber(PA[o + 5]))
  for _, h in ipairs(cjson.decode(PA[o + 7])) do
    takes[#takes + 1] = {node, h, owner(id)}
  end
  writes[#writes + 1] = id
  writes[#writes + 1] = '{"agent_id":' .. cjson.encode(id) .. ',"node":' .. cjson.encode(node) ..
    ',"state":' .. cjson.encode(state) .. ',"restarts":' .. restarts .. ',"attempt":' .. attempt ..
    ',"resources":' .. PA[o + 6] .. ',"holds":' .. PA[o + 7] .. ',"updated_at":' .. now .. '}'
end

local removed = {}
if replace then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if not listed[all[i]] then
      release(cjson.decode(all[i + 1]))
      removed[#removed + 1] = all[i]
    end
  end
end

-- Evictions: every victim must still be where the plan saw it; its usage and holds are given back.
local cbase0 = rest
local ebase = cbase0 + 1 + tonumber(ARGV[cbase0]) * 5
local e = tonumber(ARGV[ebase]) or 0
local evictions = {}
if e > 0 then
  local jobPrefix, agentsSuffix = ARGV[ebase + 1], ARGV[ebase + 2]
  for i = 0, e - 1 do
    local o = ebase + 3 + i * 3
    local vjob, vid, vnode = ARGV[o], ARGV[o + 1], ARGV[o + 2]
    local vkey = jobPrefix .. vjob .. agentsSuffix
    local raw = redis.call('HGET', vkey, vid)
    if not raw or redis.call('EXISTS', jobPrefix .. vjob) == 0 then
      return {-8, ''}
    end
    local rec = cjson.decode(raw)
    if rec.node ~= vnode or rec.state == 'preempted' then
      return {-8, rec.node}
    end
    local r = rec.resources or {}
    add(rec.node, -1, round((tonumber(r.cpu_cores) or 0) * 1000), round(r.memory_mb), round(r.disk_mb), round(r.gpu_count))
    if type(rec.holds) == 'table' then
      for _, h in ipairs(rec.holds) do
        freed[rec.node .. '\0' .. h] = vkey .. '/' .. vid
        frees[#frees + 1] = {rec.node, h, vkey .. '/' .. vid}
      end
    end
    rec.state = 'preempted'
    rec.resources = {cpu_cores = 0, memory_mb = 0, disk_mb = 0, gpu_count = 0}
    rec.holds = nil
    rec.updated_at = tonumber(now)
    evictions[#evictions + 1] = {vkey, vid, rec, jobPrefix .. vjob}
  end
end

-- A port or device held by another agent (and not given back by this commit) is a conflict.
for _, t in ipairs(takes) do
  local cur = redis.call('HGET', prefix .. t[1] .. holdSuffix, t[2])
  if cur and cur ~= t[3] and freed[t[1] .. '\0' .. t[2]] ~= cur then
    return {-7, t[1], t[2], cur}
  end
end

-- Re-check capacity on every node that gains usage before writing anything.
local cbase = rest
local c = tonumber(ARGV[cbase])
for i = 0, c - 1 do
  local o = cbase + 1 + i * 5
  local node = ARGV[o]
  local d = delta[node]
  if d then
    local cur = redis.call('HMGET', prefix .. node .. suffix, FIELDS[1], FIELDS[2], FIELDS[3], FIELDS[4])
    for k = 1, 4 do
      local limit = ARGV[o + k]
      if limit ~= '' and d[k] > 0 and (tonumber(cur[k]) or 0) + d[k] > tonumber(limit) then
        return {-5, node, FIELDS[k]}
      end
    end
  end
end

-- HSET/HDEL in chunks: unpack() is bounded by the Lua C stack.
local CHUNK = 1000
for i = 1, #writes, CHUNK * 2 do
  redis.call('HSET', KEYS[2], unpack(writes, i, math.min(i + CHUNK * 2 - 1, #writes)))
end
for i = 1, #removed, CHUNK do
  redis.call('HDEL', KEYS[2], unpack(removed, i, math.min(i + CHUNK - 1, #removed)))
end
for _, f in ipairs(frees) do
  local key = prefix .. f[1] .. holdSuffix
  if redis.call('HGET', key, f[2]) == f[3] then
    redis.call('HDEL', key, f[2])
  end
end
for _, t in ipairs(takes) do
  redis.call('HSET', prefix .. t[1] .. holdSuffix, t[2], t[3])
end
for node, d in pairs(delta) do
  local key = prefix .. node .. suffix
  for k = 1, 5 do
    if d[k] ~= 0 then
      redis.call('HINCRBY', key, FIELDS[k], d[k])
    end
  end
end

for _, v in ipairs(evictions) do
  -- cjson writes an empty table as {}: holds is written as a list by hand.
  local json = cjson.encode(v[3])
  json = string.sub(json, 1, -2) .. ',"holds":[]}'
  redis.call('HSET', v[1], v[2], json)
  redis.call('HINCRBY', v[4], 'version', 1)
  redis.call('HSET', v[4], 'updated_at', now)
end

if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'plan', ARGV[4])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[5])
end
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'updated_at', now)
return fieldsButPlan(KEYS[1])
