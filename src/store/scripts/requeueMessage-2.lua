--[[
  Acknowledges an inbox entry and queues its message again: on the same inbox for another
  attempt (a retry), or unchanged on another node's inbox (its agent moved there).

  Input:
    KEYS[1] the entry's inbox   KEYS[2] the inbox to queue on (KEYS[1] for a retry)
    ARGV[1] consumer group  ARGV[2] entry id  ARGV[3] job id  ARGV[4] agent id
    ARGV[5] message id      ARGV[6] attempt   ARGV[7] not-before ms  ARGV[8] message text

  Output: 1 when queued, 0 when the entry was no longer pending (settled by someone else)
]]
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'j', ARGV[3], 'a', ARGV[4], 'm', ARGV[5], 'n', ARGV[6], 't', ARGV[7], 'b', ARGV[8])
return 1
