--[[
  Takes a pending inbox entry for a settling script (include with `--- @include "includes/takeEntry"`).

  takeEntry(leaseKey, token, inbox, group, entryId)
    leaseKey, token  the fence (see checkFence; token '' for an unfenced call)
    inbox, group     the entry's stream and consumer group
    entryId          the entry

  Checks the fence, then acknowledges and deletes the entry. Returns
     0, ''            the entry was taken
     1, ''            it was no longer pending (settled by someone else): nothing to do
    -2 / -3, token    the fence refused the call (Fenced / LeaseNotHeld)
]]
--- @include "includes/checkFence"

local function takeEntry(leaseKey, token, inbox, group, entryId)
  local rc, current = checkFence(leaseKey, token)
  if rc ~= 0 then
    return rc, current
  end
  if redis.call('XACK', inbox, group, entryId) == 0 then
    return 1, ''
  end
  redis.call('XDEL', inbox, entryId)
  return 0, ''
end
