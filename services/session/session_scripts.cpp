#include "session_scripts.h"

namespace sb::session {

namespace {

// Every access leaves a session at least its idle TTL to live. Writing the expiry on every
// read would make each get a write (replicated, and impossible on a replica), so expiries are
// set to TTL + slack, and a read calls touch only once less than the TTL is left: at most once
// per slack interval (a tenth of the TTL, at most a minute). A session therefore expires
// between TTL and TTL + slack after its last access. (A get is a MULTI of plain reads, not a
// script: Redis runs it in half the CPU time.)
const std::string kRefresh = R"lua(
local function refresh(ttl)
  local ms = tonumber(ttl) * 1000
  ms = ms + math.min(math.floor(ms / 10), 60000)
  redis.call('PEXPIRE', KEYS[1], ms)
  redis.call('PEXPIRE', KEYS[2], ms)
  redis.call('PEXPIRE', KEYS[3], ms)
end
)lua";

}  // namespace

// ARGV: user, metadata, settings, ttl, now_ms
const std::string Scripts::kCreate = kRefresh + R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('EXISTS session already exists')
end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'metadata', ARGV[2], 'settings', ARGV[3],
           'ttl', ARGV[4], 'created_ms', ARGV[5], 'updated_ms', ARGV[5], 'version', 0, 'bytes', 0)
refresh(ARGV[4])
return 0
)lua";

// ARGV: op_id, now_ms, max_count, max_bytes, expected_version ('' = any), message...
// Returns {version, length, dropped}. The oldest messages go when a cap is passed.
const std::string Scripts::kAppend = kRefresh + R"lua(
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return redis.error_reply('NOTFOUND no such session') end
if ARGV[1] ~= '' then
  local prev = redis.call('HGET', KEYS[3], ARGV[1])
  if prev then
    local out = {}
    for n in string.gmatch(prev, '%d+') do out[#out + 1] = tonumber(n) end
    return out
  end
end
if ARGV[5] ~= '' and ARGV[5] ~= v then return redis.error_reply('CONFLICT ' .. v) end
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
for i = 6, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  bytes = bytes + #ARGV[i]
end
local len = redis.call('LLEN', KEYS[2])
local max_count, max_bytes = tonumber(ARGV[3]), tonumber(ARGV[4])
local dropped = 0
while len > 0 and (len > max_count or bytes > max_bytes) do
  bytes = bytes - #redis.call('LPOP', KEYS[2])
  len = len - 1
  dropped = dropped + 1
end
v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'bytes', bytes, 'updated_ms', ARGV[2])
if ARGV[1] ~= '' then
  if redis.call('HLEN', KEYS[3]) >= 512 then redis.call('DEL', KEYS[3]) end
  redis.call('HSET', KEYS[3], ARGV[1], v .. ' ' .. len .. ' ' .. dropped)
end
refresh(redis.call('HGET', KEYS[1], 'ttl'))
return {v, len, dropped}
)lua";

// ARGV: op_id, now_ms, expected_version ('' = any), settings ('' = unchanged), ttl ('' = same)
const std::string Scripts::kUpdate = kRefresh + R"lua(
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return redis.error_reply('NOTFOUND no such session') end
if ARGV[1] ~= '' then
  local prev = redis.call('HGET', KEYS[3], ARGV[1])
  if prev then return tonumber(prev) end
end
if ARGV[3] ~= '' and ARGV[3] ~= v then return redis.error_reply('CONFLICT ' .. v) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'settings', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'ttl', ARGV[5]) end
v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'updated_ms', ARGV[2])
if ARGV[1] ~= '' then
  if redis.call('HLEN', KEYS[3]) >= 512 then redis.call('DEL', KEYS[3]) end
  redis.call('HSET', KEYS[3], ARGV[1], v)
end
refresh(redis.call('HGET', KEYS[1], 'ttl'))
return v
)lua";

// Returns the TTL in seconds.
const std::string Scripts::kTouch = kRefresh + R"lua(
local ttl = redis.call('HGET', KEYS[1], 'ttl')
if not ttl then return redis.error_reply('NOTFOUND no such session') end
refresh(ttl)
return tonumber(ttl)
)lua";

// Returns the session's user ('' if it had none), or false when there was no session.
const std::string Scripts::kDelete = R"lua(
local user = redis.call('HGET', KEYS[1], 'user')
if not user then return false end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return user
)lua";

}  // namespace sb::session
