#include "rate_limit_scripts.h"

namespace sb::edge {

const std::string kAdmitScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = 60000
local rpm, tpm, conc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local refused, retry = '', 0
local rem_r, reset_r, rem_t, reset_t = -1, 0, -1, 0
local new_r
if rpm > 0 then
  local step = window / rpm
  local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
  new_r = tat + step
  if new_r - now > window then
    refused, retry = 'requests', new_r - now - window
    rem_r, reset_r = 0, tat - now
  else
    rem_r, reset_r = math.floor((window - (new_r - now)) / step), new_r - now
  end
end
if tpm > 0 then
  local step = window / tpm
  local tat = math.max(tonumber(redis.call('GET', KEYS[2]) or now), now)
  local avail = (window - (tat - now)) / step
  reset_t = tat - now
  if avail < 1 then
    rem_t = 0
    if refused == '' then refused, retry = 'tokens', tat - now - window + step end
  else
    rem_t = math.floor(avail)
  end
end
if conc > 0 and refused == '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= conc then
    refused = 'concurrent'
  else
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[4])
    redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[5]))
  end
end
if refused ~= '' then
  return {0, refused, math.ceil(retry), rem_r, math.ceil(reset_r), rem_t, math.ceil(reset_t)}
end
if rpm > 0 then
  redis.call('SET', KEYS[1], string.format('%.3f', new_r), 'PX', math.ceil(new_r - now) + 1)
end
return {1, '', 0, rem_r, math.ceil(reset_r), rem_t, math.ceil(reset_t)}
)lua";

const std::string kSettleScript = R"lua(
local tpm, used = tonumber(ARGV[1]), tonumber(ARGV[2])
if tpm > 0 and used > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local tat = math.max(tonumber(redis.call('GET', KEYS[2]) or now), now) + used * 60000 / tpm
  redis.call('SET', KEYS[2], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1)
end
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[3], ARGV[3]) end
return 1
)lua";

const std::string kRenewScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ms, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ms)
return 1
)lua";

}  // namespace sb::edge
