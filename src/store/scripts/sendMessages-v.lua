--[[
  Enqueues messages of one job on their nodes' inboxes (see includes/sendBatch).

  Input (variable number of keys):
    KEYS[1] job message ids hash    KEYS[2] job message counters    KEYS[3] job pending per agent
    KEYS[4..] inbox streams referenced by the messages
    ARGV[1] per-agent limit (0: none)  ARGV[2] per-job limit (0: none)  ARGV[3] job id
    ARGV[4] n, then 5 arguments per message from ARGV[5] (see sendBatch)

  Output:
    {0, accepted, duplicates}
    {-9, object, limit}      Overloaded
    {-10, messageId}         MessageConflict
]]
--- @include "includes/sendBatch"

local rc, x, y = sendBatch(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]), '0', ARGV[3], tonumber(ARGV[4]), 5)
return {rc, x, y}
