--[[
  Acquires a fenced lease.

  Input:
    KEYS[1] lease key        (string "<holder>|<token>" with PX TTL)
    KEYS[2] lease epoch key  (integer counter: last token granted)
    ARGV[1] holder id
    ARGV[2] ttl in ms

  Output:
    {token, pttl}  granted: a new token if the lease was free or lapsed, the current token
                   (TTL reset to ARGV[2]) if ARGV[1] already holds it
    {0, pttl}      held by another holder; pttl is its remaining time
]]
local value = redis.call('GET', KEYS[1])
if value then
  local holder, token = string.match(value, '^(.*)|(%d+)$')
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {tonumber(token), tonumber(ARGV[2])}
  end
  return {0, redis.call('PTTL', KEYS[1])}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return {token, tonumber(ARGV[2])}
