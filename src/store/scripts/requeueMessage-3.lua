--[[
  Acknowledges an inbox entry and queues its message again: on the same inbox for another
  attempt (a retry), or unchanged on another node's inbox (its agent moved there). Fenced by the
  node's host lease when the daemon that runs the node's agents requeues.

  Input:
    KEYS[1] the entry's inbox   KEYS[2] the inbox to queue on (KEYS[1] for a retry)
    KEYS[3] lease key of the fence (any key when ARGV[9] is '')
    ARGV[1] consumer group  ARGV[2] entry id  ARGV[3] job id  ARGV[4] agent id
    ARGV[5] message id      ARGV[6] attempt   ARGV[7] not-before ms  ARGV[8] message text
    ARGV[9] fencing token, '' when unfenced

  Output:
    {0, 1} when queued, {0, 0} when the entry was no longer pending (settled by someone else)
    {-2, currentToken} Fenced     {-3, ''} LeaseNotHeld
]]
--- @include "includes/takeEntry"

local refused = takeEntry(KEYS[3], ARGV[9], KEYS[1], ARGV[1], ARGV[2])
if refused then
  return refused
end
redis.call('XADD', KEYS[2], '*', 'j', ARGV[3], 'a', ARGV[4], 'm', ARGV[5], 'n', ARGV[6], 't', ARGV[7], 'b', ARGV[8])
return {0, 1}
