--[[
  Acknowledges an inbox entry and queues it again on the same inbox for another attempt.

  Input:
    KEYS[1] inbox stream
    ARGV[1] consumer group  ARGV[2] entry id  ARGV[3] job id  ARGV[4] agent id
    ARGV[5] message id      ARGV[6] next attempt  ARGV[7] not-before ms  ARGV[8] message text

  Output: 1 when re-queued, 0 when the entry was no longer pending
]]
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[1], '*', 'j', ARGV[3], 'a', ARGV[4], 'm', ARGV[5], 'n', ARGV[6], 't', ARGV[7], 'b', ARGV[8])
return 1
