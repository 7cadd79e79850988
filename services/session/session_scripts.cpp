#include "session_scripts.h"

namespace sb::session {

namespace {

// Helpers every write script starts with. KEYS: 1 meta (hash), 2 msgs (list), 3 ops (hash
// op_id -> result), 4 op times (sorted set op_id -> ms): all tagged with the session id, so
// one slot, one node, one atomic script.
//
// Expiry: every access leaves a session at least its idle TTL to live. Writing the expiry on
// every read would make each get a write (replicated, and impossible on a replica), so
// expiries are set to TTL + slack, and a read calls touch only once less than the TTL is
// left: at most once per slack interval (a tenth of the TTL, at most a minute). A session
// therefore expires between TTL and TTL + slack after its last access.
//
// Idempotency: an operation id is remembered for a window of time (ARGV op window in ms), so
// a resend within the window gets the first result instead of applying twice. Ids older than
// the window are forgotten a few at a time by later writes; a hard cap on how many a session
// remembers (the oldest go first) bounds the memory a runaway client can take.
const std::string kHelpers = R"lua(
local function refresh(ttl)
  local ms = tonumber(ttl) * 1000
  ms = ms + math.min(math.floor(ms / 10), 60000)
  redis.call('PEXPIRE', KEYS[1], ms)
  redis.call('PEXPIRE', KEYS[2], ms)
  redis.call('PEXPIRE', KEYS[3], ms)
  redis.call('PEXPIRE', KEYS[4], ms)
end
local function recall(op)
  if op == '' then return nil end
  return redis.call('HGET', KEYS[3], op)
end
local function remember(op, result, now, window, cap)
  if op == '' then return end
  redis.call('HSET', KEYS[3], op, result)
  redis.call('ZADD', KEYS[4], now, op)
  local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - window, 'LIMIT', 0, 32)
  if #old > 0 then
    redis.call('HDEL', KEYS[3], unpack(old))
    redis.call('ZREM', KEYS[4], unpack(old))
  end
  local over = redis.call('ZCARD', KEYS[4]) - cap
  if over > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[4], over)  -- member, score, member, ...
    for i = 1, #popped, 2 do redis.call('HDEL', KEYS[3], popped[i]) end
  end
end
)lua";

}  // namespace

// ARGV: user, metadata, settings, ttl, now_ms, op_id, window_ms, cap
// The same op_id resent after the session was made answers as the first time did.
const std::string Scripts::kCreate = kHelpers + R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then
  if recall(ARGV[6]) then return 0 end
  return redis.error_reply('EXISTS session already exists')
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'metadata', ARGV[2], 'settings', ARGV[3],
           'ttl', ARGV[4], 'created_ms', ARGV[5], 'updated_ms', ARGV[5], 'version', 0, 'bytes', 0)
remember(ARGV[6], '0', tonumber(ARGV[5]), tonumber(ARGV[7]), tonumber(ARGV[8]))
refresh(ARGV[4])
return 0
)lua";

// ARGV: op_id, now_ms, window_ms, cap, max_count, max_bytes, expected_version ('' = any),
// message... Returns {version, length, dropped}. The oldest messages go when a cap is passed.
const std::string Scripts::kAppend = kHelpers + R"lua(
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return redis.error_reply('NOTFOUND no such session') end
local prev = recall(ARGV[1])
if prev then
  local out = {}
  for n in string.gmatch(prev, '%d+') do out[#out + 1] = tonumber(n) end
  return out
end
if ARGV[7] ~= '' and ARGV[7] ~= v then return redis.error_reply('CONFLICT ' .. v) end
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
for i = 8, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  bytes = bytes + #ARGV[i]
end
local len = redis.call('LLEN', KEYS[2])
local max_count, max_bytes = tonumber(ARGV[5]), tonumber(ARGV[6])
local dropped = 0
while len > 0 and (len > max_count or bytes > max_bytes) do
  bytes = bytes - #redis.call('LPOP', KEYS[2])
  len = len - 1
  dropped = dropped + 1
end
v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'bytes', bytes, 'updated_ms', ARGV[2])
remember(ARGV[1], v .. ' ' .. len .. ' ' .. dropped, tonumber(ARGV[2]), tonumber(ARGV[3]),
         tonumber(ARGV[4]))
refresh(redis.call('HGET', KEYS[1], 'ttl'))
return {v, len, dropped}
)lua";

// ARGV: op_id, now_ms, window_ms, cap, expected_version ('' = any), settings ('' =
// unchanged), ttl ('' = same)
const std::string Scripts::kUpdate = kHelpers + R"lua(
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return redis.error_reply('NOTFOUND no such session') end
local prev = recall(ARGV[1])
if prev then return tonumber(prev) end
if ARGV[5] ~= '' and ARGV[5] ~= v then return redis.error_reply('CONFLICT ' .. v) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'settings', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'ttl', ARGV[7]) end
v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'updated_ms', ARGV[2])
remember(ARGV[1], v, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
refresh(redis.call('HGET', KEYS[1], 'ttl'))
return v
)lua";

// Returns the TTL in seconds.
const std::string Scripts::kTouch = kHelpers + R"lua(
local ttl = redis.call('HGET', KEYS[1], 'ttl')
if not ttl then return redis.error_reply('NOTFOUND no such session') end
refresh(ttl)
return tonumber(ttl)
)lua";

// Returns the session's user ('' if it had none), or false when there was no session.
const std::string Scripts::kDelete = R"lua(
local user = redis.call('HGET', KEYS[1], 'user')
if not user then return false end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return user
)lua";

}  // namespace sb::session
