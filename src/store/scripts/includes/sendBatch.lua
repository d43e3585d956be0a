--[[
  Message send shared by sendMessages and settleMessage (include with
  `--- @include "includes/sendBatch"`). All messages belong to one job.

  sendBatch(kIds, kCounts, kPending, perAgent, perJob, lenient, jobId, n, a)
    kIds      job hash: message id -> sha1 of the message text (idempotency)
    kCounts   job hash of counters: outstanding, dead_letters
    kPending  job hash: agent id -> messages sent to it and not settled
    perAgent, perJob  back-pressure limits (0: none): refused when the job, or a target agent,
              already has that many messages outstanding; a batch that starts under them is
              taken whole
    lenient   '1': an id sent before with other content counts as a duplicate (resends of a
              redelivered handler); '0': it is a conflict
    n         number of messages; message i (0-based) takes ARGV[a + 5i .. a + 5i + 4]:
              KEYS index of its inbox stream, agent id, message id, not-before ms, message text

  Nothing is written unless every check passes. Returns
    0, accepted, duplicates
    -9 (Overloaded), object, limit
    -10 (MessageConflict), message id
]]
local function sendBatch(kIds, kCounts, kPending, perAgent, perJob, lenient, jobId, n, a)
  local fresh = {}
  local digests = {}
  local seen = {}
  local perAgentNew = {}
  local dups = 0
  for i = 0, n - 1 do
    local base = a + i * 5
    local id = ARGV[base + 2]
    local digest = redis.sha1hex(ARGV[base + 4])
    local known = redis.call('HGET', kIds, id)
    if known or seen[id] then
      if known and known ~= digest and lenient ~= '1' then
        return -10, id, 0
      end
      dups = dups + 1
    else
      seen[id] = true
      fresh[#fresh + 1] = base
      digests[#digests + 1] = digest
      local agent = ARGV[base + 1]
      perAgentNew[agent] = (perAgentNew[agent] or 0) + 1
    end
  end
  if perJob > 0 then
    local out = tonumber(redis.call('HGET', kCounts, 'outstanding') or '0')
    if #fresh > 0 and out >= perJob then
      return -9, 'job ' .. jobId, perJob
    end
  end
  if perAgent > 0 then
    for agent, _ in pairs(perAgentNew) do
      local pending = tonumber(redis.call('HGET', kPending, agent) or '0')
      if pending >= perAgent then
        return -9, 'agent ' .. agent .. ' of job ' .. jobId, perAgent
      end
    end
  end
  for i, base in ipairs(fresh) do
    redis.call('HSET', kIds, ARGV[base + 2], digests[i])
    redis.call('XADD', KEYS[tonumber(ARGV[base])], '*', 'j', jobId, 'a', ARGV[base + 1], 'm', ARGV[base + 2], 'n', '1', 't', ARGV[base + 3], 'b', ARGV[base + 4])
  end
  if #fresh > 0 then
    redis.call('HINCRBY', kCounts, 'outstanding', #fresh)
    for agent, count in pairs(perAgentNew) do
      redis.call('HINCRBY', kPending, agent, count)
    end
  end
  return 0, #fresh, dups
end
