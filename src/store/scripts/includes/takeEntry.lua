--[[
  Takes a pending inbox entry for a settling script (include with `--- @include "includes/takeEntry"`).

  takeEntry(leaseKey, token, inbox, group, entryId)
    leaseKey, token  the fence (see checkFence; token '' for an unfenced call)
    inbox, group     the entry's stream and consumer group
    entryId          the entry

  Checks the fence, then acknowledges and deletes the entry. Returns nil when the entry was
  taken, else the script's reply: {0, 0} when it was no longer pending (settled by someone
  else: nothing to do), {-2, currentToken} or {-3, ''} when the fence refused the call.
]]
--- @include "includes/checkFence"

local function takeEntry(leaseKey, token, inbox, group, entryId)
  local rc, current = checkFence(leaseKey, token)
  if rc ~= 0 then
    return {rc, current}
  end
  if redis.call('XACK', inbox, group, entryId) == 0 then
    return {0, 0}
  end
  redis.call('XDEL', inbox, entryId)
  return nil
end
