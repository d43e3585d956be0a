--[[
  A record's reply without its plan (include with `--- @include "includes/fieldsButPlan"`): the
  caller has the plan it wrote, or the one it read, and a job's plan is its one big field.

  fieldsButPlan(key)
    key  the record's hash

  Returns {0, field, value, ...} with every field of the hash but `plan`.
]]
local function fieldsButPlan(key)
  local out = {0}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    if f ~= 'plan' then
      out[#out + 1] = f
      out[#out + 1] = redis.call('HGET', key, f)
    end
  end
  return out
end
