#include "redis_tier.h"

#include <cstdio>

#include "sb/redis/script_sha.h"

namespace sb::embedding {

using redis::Reply;

namespace {

// KEYS: value, lease. ARGV: token, lease ms, TTL ms (0: none). Every script here can be sent
// again after a lost reply with the same effect (a claim finds its own token), so the slot
// client may resend them when a connection breaks.
const std::string kClaim = R"lua(
local v = redis.call('GET', KEYS[1])
if v then
  if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  return {1, v}
end
local holder = redis.call('GET', KEYS[2])
if holder == ARGV[1] then return {2} end  -- ours already: this is a resend
if not holder then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return {2}
end
-- A lease without an expiry (not one of ours: set by hand, or by an old bug) would block
-- every waiter forever: give it ours.
if redis.call('PTTL', KEYS[2]) == -1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return {0}
)lua";

// KEYS: value, lease. ARGV: value, TTL ms (0: none), token.
const std::string kStore = R"lua(
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
)lua";

// KEYS: lease. ARGV: token.
const std::string kRelease = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// KEYS: lease. ARGV: token, lease ms.
const std::string kRenew = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
)lua";

// EVALSHA needs the script's SHA-1; a node that has not seen it answers NOSCRIPT and the
// slot client resends it as EVAL.
const std::string& sha(const std::string& body) {
  static const std::string claim = redis::scriptSha1(kClaim), store = redis::scriptSha1(kStore),
                           release = redis::scriptSha1(kRelease), renew = redis::scriptSha1(kRenew);
  if (&body == &kClaim) return claim;
  if (&body == &kStore) return store;
  if (&body == &kRelease) return release;
  return renew;
}

}  // namespace

RedisTier::RedisTier(EventLoop& loop, redis::SlotClient* client, RedisTierOptions options)
    : loop_(loop), client_(client), options_(std::move(options)) {}

std::string RedisTier::newToken() {
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx",
                static_cast<unsigned long long>(loop_.random().next()),
                static_cast<unsigned long long>(loop_.random().next()));
  return buf;
}

redis::CommandOptions RedisTier::commandOptions(bool idempotent) const {
  redis::CommandOptions o;
  o.deadline = loop_.now() + options_.timeout;
  o.retry_unknown = idempotent;
  return o;
}

void RedisTier::get(const Digest& d, GetDone done) {
  std::string key = valueKey(options_.prefix, d);
  std::vector<std::string> argv;
  if (options_.ttl_s > 0)
    argv = {"GETEX", key, "EX", std::to_string(options_.ttl_s)};
  else
    argv = {"GET", key};
  redis::CommandOptions o = commandOptions(true);
  o.read_only = options_.ttl_s == 0;  // GETEX writes (the expiry)
  client_->command(
      key, std::move(argv), o, [c = counters_, done = std::move(done)](redis::Result&& r) {
        if (!r.status.ok() || r.reply.isError()) {
          ++c->errors;
          return done(r.status.ok()
                          ? proto::Status::error(proto::ErrorCode::kUnavailable, r.reply.str)
                          : r.status,
                      false, {});
        }
        if (r.reply.type == Reply::Type::kString) {
          ++c->hits;
          return done({}, true, std::move(r.reply.str));
        }
        ++c->misses;
        done({}, false, {});
      });
}

void RedisTier::script(const Digest& d, const std::string& body, const std::string& hash,
                       std::vector<std::string> args, redis::SlotClient::Callback cb) {
  std::string key = valueKey(options_.prefix, d);
  bool lease_only = &body == &kRelease || &body == &kRenew;
  std::vector<std::string> argv = {"EVALSHA", hash};
  if (lease_only) {
    argv.insert(argv.end(), {"1", leaseKey(options_.prefix, d)});
  } else {
    argv.insert(argv.end(), {"2", key, leaseKey(options_.prefix, d)});
  }
  for (auto& a : args) argv.push_back(std::move(a));
  redis::CommandOptions o = commandOptions(true);
  o.script = &body;
  client_->command(key, std::move(argv), o, std::move(cb));
}

void RedisTier::claim(const Digest& d, const std::string& token, ClaimDone done) {
  uint64_t ttl_ms = uint64_t{options_.ttl_s} * 1000;
  script(d, kClaim, sha(kClaim),
         {token, std::to_string(options_.lease.count()), std::to_string(ttl_ms)},
         [c = counters_, done = std::move(done)](redis::Result&& r) {
           const Reply& rep = r.reply;
           if (!r.status.ok() || rep.type != Reply::Type::kArray || rep.elements.empty() ||
               rep.elements[0].type != Reply::Type::kInteger) {
             ++c->errors;
             return done(Claim::kError, {});
           }
           int64_t what = rep.elements[0].integer;
           if (what == 1 && rep.elements.size() == 2) {
             ++c->hits;
             return done(Claim::kValue, rep.elements[1].str);
           }
           done(what == 2 ? Claim::kLeased : Claim::kHeld, {});
         });
}

void RedisTier::store(const Digest& d, std::string value, const std::string& token) {
  uint64_t ttl_ms = uint64_t{options_.ttl_s} * 1000;
  ++counters_->stores;
  script(d, kStore, sha(kStore), {std::move(value), std::to_string(ttl_ms), token},
         [c = counters_](redis::Result&& r) {
           if (!r.status.ok() || r.reply.isError()) ++c->store_errors;
         });
}

void RedisTier::release(const Digest& d, const std::string& token, std::function<void()> done) {
  script(d, kRelease, sha(kRelease), {token}, [done = std::move(done)](redis::Result&&) {
    if (done) done();
  });
}

void RedisTier::renew(const Digest& d, const std::string& token) {
  script(d, kRenew, sha(kRenew), {token, std::to_string(options_.lease.count())},
         [](redis::Result&&) {});
}

}  // namespace sb::embedding
