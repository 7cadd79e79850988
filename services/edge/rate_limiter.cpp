#include "rate_limiter.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "rate_limit_scripts.h"
#include "sb/redis/script_sha.h"

namespace sb::edge {

using redis::Reply;

struct RateLimiter::Core {
  EventLoop& loop;
  redis::SlotClient& redis;
  RateLimiterOptions options;
  RateLimiterCounters counters;
  std::string instance;  // this edge's part of lease ids
  uint64_t next_lease = 1;
  std::map<std::string, std::set<std::string>> live;  // key name -> lease ids held here
  bool failing = false;  // the last admission got no answer (logged once per outage)

  Core(EventLoop& l, redis::SlotClient& r, RateLimiterOptions o)
      : loop(l), redis(r), options(std::move(o)) {
    char buf[20];
    std::snprintf(buf, sizeof(buf), "%016llx",
                  static_cast<unsigned long long>(loop.random().next()));
    instance = buf;
  }
  std::string key(const std::string& name, const char* part) const {
    return options.prefix + "{" + name + "}:" + part;
  }
  void run(const std::string& name, const std::string& script, std::vector<std::string> args,
           bool idempotent, redis::SlotClient::Callback cb) {
    static const std::string admit = redis::scriptSha1(kAdmitScript),
                             settle = redis::scriptSha1(kSettleScript),
                             renew = redis::scriptSha1(kRenewScript);
    const std::string& sha = &script == &kAdmitScript    ? admit
                             : &script == &kSettleScript ? settle
                                                         : renew;
    std::vector<std::string> argv{"EVALSHA", sha};
    if (&script == &kRenewScript) {
      argv.insert(argv.end(), {"1", key(name, "live")});
    } else {
      argv.insert(argv.end(), {"3", key(name, "req"), key(name, "tok"), key(name, "live")});
    }
    for (auto& a : args) argv.push_back(std::move(a));
    redis::CommandOptions o;
    o.deadline = loop.now() + options.timeout;
    o.retry_unknown = idempotent;
    o.script = &script;
    std::string slot_key = argv[3];  // (argv moves into the call)
    redis.command(slot_key, std::move(argv), o, std::move(cb));
  }
};

namespace {

// The admission script's answer; false if it is not what the script returns.
bool readAdmission(const Reply& r, const auth::ApiKey& key, Admission& a) {
  if (r.type != Reply::Type::kArray || r.elements.size() != 7) return false;
  for (size_t i : {0, 2, 3, 4, 5, 6}) {
    if (r.elements[i].type != Reply::Type::kInteger) return false;
  }
  a.checked = true;
  a.allowed = r.elements[0].integer == 1;
  a.refused_by = r.elements[1].str;
  a.retry_ms = r.elements[2].integer;
  a.remaining_requests = r.elements[3].integer;
  a.reset_requests_ms = r.elements[4].integer;
  a.remaining_tokens = r.elements[5].integer;
  a.reset_tokens_ms = r.elements[6].integer;
  a.limit_requests = key.requests_per_minute ? key.requests_per_minute : -1;
  a.limit_tokens = key.tokens_per_minute ? key.tokens_per_minute : -1;
  return true;
}

}  // namespace

RateLimiter::Lease& RateLimiter::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    settle(0);
    core_ = std::move(o.core_);
    key_ = std::move(o.key_);
    id_ = std::move(o.id_);
  }
  return *this;
}

void RateLimiter::Lease::settle(int64_t tokens) {
  auto core = core_.lock();
  core_.reset();
  if (!core || !key_) return;
  if (!id_.empty()) {
    auto it = core->live.find(key_->name);
    if (it != core->live.end()) {
      it->second.erase(id_);
      if (it->second.empty()) core->live.erase(it);
    }
  }
  bool charge = key_->tokens_per_minute > 0 && tokens > 0;
  if (!charge && id_.empty()) return;
  core->run(key_->name, kSettleScript,
            {std::to_string(key_->tokens_per_minute), std::to_string(charge ? tokens : 0), id_},
            false, [name = key_->name](redis::Result&& r) {
              if (!r.status.ok() || r.reply.isError()) {
                spdlog::warn("rate limit: could not settle a request of key {}: {}", name,
                             r.status.ok() ? r.reply.str : r.status.message);
              }
            });
}

RateLimiter::RateLimiter(EventLoop& loop, redis::SlotClient& redis, RateLimiterOptions options)
    : core_(std::make_shared<Core>(loop, redis, std::move(options))) {
  std::weak_ptr<Core> weak = core_;
  renew_ = loop.every(core_->options.lease / 3, [weak] {
    auto core = weak.lock();
    if (!core) return;
    for (const auto& [name, ids] : core->live) {
      std::vector<std::string> args{std::to_string(core->options.lease.count())};
      args.insert(args.end(), ids.begin(), ids.end());
      core->run(name, kRenewScript, std::move(args), true, [](redis::Result&&) {});
    }
  });
}

RateLimiter::~RateLimiter() = default;

const RateLimiterCounters& RateLimiter::counters() const { return core_->counters; }

bool RateLimiter::redisReady() const { return core_->redis.ready(); }

void RateLimiter::admit(const std::shared_ptr<const auth::ApiKey>& key, Done done) {
  if (!key || !key->limited()) {
    done(Admission{}, Lease{});
    return;
  }
  std::string id;
  if (key->concurrent > 0) id = core_->instance + "-" + std::to_string(core_->next_lease++);
  std::weak_ptr<Core> weak = core_;
  core_->run(
      key->name, kAdmitScript,
      {std::to_string(key->requests_per_minute), std::to_string(key->tokens_per_minute),
       std::to_string(key->concurrent), id, std::to_string(core_->options.lease.count())},
      false, [weak, key, id, done = std::move(done)](redis::Result&& r) {
        auto core = weak.lock();
        if (!core) return;
        Admission a;
        if (!r.status.ok() || !readAdmission(r.reply, *key, a)) {
          std::string why = !r.status.ok()      ? r.status.message
                            : r.reply.isError() ? r.reply.str
                                                : std::string("an answer that is not the script's");
          a = Admission{};
          a.allowed = core->options.fail_open;
          ++(a.allowed ? core->counters.errors_allowed : core->counters.errors_refused);
          if (!core->failing) {
            spdlog::warn("rate limit: Redis does not answer ({}): requests are {} until it does",
                         why, a.allowed ? "let through" : "refused");
            core->failing = true;
          }
          // The lease may have been taken before the answer was lost: it expires by itself.
          done(a, Lease{});
          return;
        }
        if (core->failing) {
          spdlog::info("rate limit: Redis answers again");
          core->failing = false;
        }
        if (!a.allowed) {
          auto& c = core->counters;
          ++(a.refused_by == "requests" ? c.refused_requests
             : a.refused_by == "tokens" ? c.refused_tokens
                                        : c.refused_concurrent);
          done(a, Lease{});
          return;
        }
        Lease lease;
        lease.core_ = core;
        lease.key_ = key;
        lease.id_ = id;
        if (!id.empty()) core->live[key->name].insert(id);
        done(a, std::move(lease));
      });
}

}  // namespace sb::edge
