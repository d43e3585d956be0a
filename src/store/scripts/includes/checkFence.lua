--[[
  Fencing check shared by every fenced write (include with `--- @include "includes/checkFence"`).

  checkFence(leaseKey, token)
    leaseKey  the lease's key (value "<holder>|<token>", PX TTL)
    token     the writer's fencing token as a decimal string; '' means the write is not fenced

  Returns 0 when the write may proceed, otherwise
    -2 (Fenced)        and the lease's current token: the lease was taken over
    -3 (LeaseNotHeld)  and '': the lease lapsed or was released
]]
local function checkFence(leaseKey, token)
  if token == '' then
    return 0, ''
  end
  local value = redis.call('GET', leaseKey)
  if not value then
    return -3, ''
  end
  local current = string.match(value, '|(%d+)$') or ''
  if current ~= token then
    return -2, current
  end
  return 0, ''
end
