#include "session_store.h"

#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

#include "session_scripts.h"

namespace sb::session {

using proto::ErrorCode;
using proto::Status;
using redis::Reply;

namespace {

const std::string& scriptBody(int id) {
  static const std::string* bodies[] = {&Scripts::kCreate, &Scripts::kAppend, &Scripts::kUpdate,
                                        &Scripts::kTouch, &Scripts::kDelete};
  return *bodies[id];
}

int64_t asInt(const std::string& s) { return std::strtoll(s.c_str(), nullptr, 10); }

}  // namespace

SessionStore::SessionStore(EventLoop& loop, redis::SlotClient& redis, StoreOptions options)
    : loop_(loop), redis_(redis), options_(std::move(options)) {}

void SessionStore::loadScripts() {
  bool missing = false;
  for (int i = 0; i < kScriptCount; ++i) {
    if (!sha_[i].empty()) continue;
    missing = true;
    redis_.command("scripts", {"SCRIPT", "LOAD", scriptBody(i)},
                   retryable(loop_.now() + Millis(2000)), [this, i](redis::Result&& r) {
                     if (r.status.ok() && r.reply.type == Reply::Type::kString)
                       sha_[i] = r.reply.str;
                   });
  }
  if (missing) {
    // Whatever did not load (Redis down at start) is tried again; EVAL serves meanwhile.
    reload_ = loop_.after(Millis(3000), [this] { loadScripts(); });
  }
}

void SessionStore::runScript(ScriptId script, const std::string& id, std::vector<std::string> args,
                             redis::CommandOptions opts, redis::SlotClient::Callback cb) {
  std::vector<std::string> argv;
  argv.reserve(6 + args.size());
  if (sha_[script].empty()) {
    argv = {"EVAL", scriptBody(script)};
  } else {
    argv = {"EVALSHA", sha_[script]};
    opts.script = &scriptBody(script);  // NOSCRIPT on a node that never saw it -> EVAL
  }
  argv.emplace_back("4");
  argv.push_back(metaKey(id));
  argv.push_back(msgsKey(id));
  argv.push_back(key(id, "ops"));
  argv.push_back(key(id, "opt"));
  for (auto& a : args) argv.push_back(std::move(a));
  redis_.command(metaKey(id), std::move(argv), opts, std::move(cb));
}

redis::CommandOptions SessionStore::retryable(TimePoint deadline) {
  redis::CommandOptions o;
  o.deadline = deadline;
  o.retry_unknown = true;
  return o;
}

redis::CommandOptions SessionStore::writeOptions(TimePoint deadline, bool idempotent) const {
  redis::CommandOptions o;
  o.deadline = deadline;
  o.retry_unknown = idempotent;
  o.wait_replicas = options_.min_replicas_ack;
  o.wait_timeout = options_.ack_timeout;
  return o;
}

Status SessionStore::check(const redis::Result& r) const {
  if (!r.status.ok()) return r.status;
  if (r.reply.isError()) {
    std::string_view code = r.reply.errorCode();
    std::string rest = r.reply.str.size() > code.size() ? r.reply.str.substr(code.size() + 1) : "";
    if (code == "NOTFOUND") return Status::error(ErrorCode::kNotFound, "no such session");
    if (code == "EXISTS")
      return Status::error(ErrorCode::kFailedPrecondition, "session already exists");
    if (code == "CONFLICT") {
      return Status::error(ErrorCode::kFailedPrecondition,
                           "version mismatch: the session is at version " + rest);
    }
    return Status::error(ErrorCode::kInternal, "redis: " + r.reply.str);
  }
  if (options_.min_replicas_ack > 0 && r.acks >= 0 && r.acks < options_.min_replicas_ack) {
    return Status::error(ErrorCode::kUnavailable,
                         "not enough replicas acknowledged the write: " + std::to_string(r.acks) +
                             " of " + std::to_string(options_.min_replicas_ack) + " within " +
                             std::to_string(options_.ack_timeout.count()) +
                             " ms (it may still be applied: resend with the same op_id)");
  }
  return {};
}

void SessionStore::create(const std::string& id, const std::string& user,
                          const std::string& metadata, const std::string& settings, uint32_t ttl_s,
                          const std::string& op_id, TimePoint deadline, Done<uint64_t> done) {
  std::string now = std::to_string(nowMs());
  auto make = [this, id, metadata, settings, ttl_s, op_id, now, user,
               deadline](Done<uint64_t> finish) {
    // With its operation id the script knows a resend of itself from a clash.
    runScript(kCreate, id,
              {user, metadata, settings, std::to_string(ttl_s), now, op_id,
               std::to_string(options_.op_window.count()), std::to_string(options_.op_cap)},
              writeOptions(deadline, true),
              [this, finish = std::move(finish)](redis::Result&& r) { finish(check(r), 0); });
  };
  if (user.empty()) {
    make(std::move(done));
    return;
  }
  // The user's index lives in another slot: written first (ZADD is idempotent), so that a
  // session never exists without its index entry; list() hides entries whose session does
  // not exist (a create that failed after this) and drops them once they are old.
  std::string key = userKey(user);
  redis_.command(key, {"ZADD", key, now, id}, writeOptions(deadline, true),
                 [this, key, make, done = std::move(done)](redis::Result&& z) {
                   Status zs = check(z);
                   if (!zs.ok()) {
                     done(Status::error(zs.code, "the user's session index: " + zs.message), 0);
                     return;
                   }
                   // The index lives as long as the longest session TTL.
                   redis_.command(key, {"EXPIRE", key, std::to_string(options_.index_ttl_s)},
                                  retryable(loop_.now() + Millis(2000)), [](redis::Result&&) {});
                   make(done);
                 });
}

void SessionStore::get(const std::string& id, int64_t first, int64_t last, uint32_t max,
                       bool from_replica, TimePoint deadline, Done<SessionData> done) {
  redis::CommandOptions o = retryable(deadline);
  o.read_only = from_replica;
  // A plain window asks for one message more than fits, to know whether it was cut; other
  // ranges are cut here (the history is capped, so what comes back is bounded).
  int64_t ask_last = last;
  if (first >= 0 && last >= first && last - first >= max) ask_last = first + max;
  // One atomic read; the TTL comes along so a refresh is sent only when it ran low (Scripts).
  std::string meta = metaKey(id), msgs = msgsKey(id);
  redis_.transaction(
      meta,
      {{"HGETALL", meta},
       {"LRANGE", msgs, std::to_string(first), std::to_string(ask_last)},
       {"LLEN", msgs},
       {"PTTL", meta}},
      o, [this, id, first, max, deadline, done = std::move(done)](redis::Result&& r) {
        SessionData s;
        Status st = check(r);
        Reply& rep = r.reply;  // ours: strings are moved out, not copied
        if (st.ok() && (rep.type != Reply::Type::kArray || rep.elements.size() != 4 ||
                        rep.elements[0].type != Reply::Type::kArray)) {
          st = Status::error(ErrorCode::kInternal, "unexpected reply to the get transaction");
        } else if (st.ok() && rep.elements[0].elements.empty()) {
          st = Status::error(ErrorCode::kNotFound, "no such session");
        }
        if (!st.ok()) {
          done(st, std::move(s));
          return;
        }
        s.id = id;
        auto& meta = rep.elements[0].elements;
        for (size_t i = 0; i + 1 < meta.size(); i += 2) {
          const std::string& k = meta[i].str;
          std::string& v = meta[i + 1].str;
          if (k == "user")
            s.user = std::move(v);
          else if (k == "metadata")
            s.metadata = std::move(v);
          else if (k == "settings")
            s.settings = std::move(v);
          else if (k == "version")
            s.version = static_cast<uint64_t>(asInt(v));
          else if (k == "created_ms")
            s.created_ms = asInt(v);
          else if (k == "updated_ms")
            s.updated_ms = asInt(v);
          else if (k == "ttl")
            s.ttl_s = static_cast<uint32_t>(asInt(v));
        }
        s.length = static_cast<uint64_t>(rep.elements[2].integer);
        // LRANGE's start, as an index from the front.
        int64_t len = static_cast<int64_t>(s.length);
        s.first = static_cast<uint64_t>(first >= 0 ? first : std::max<int64_t>(0, len + first));
        auto& got = rep.elements[1].elements;
        size_t keep = std::min<size_t>(got.size(), max);
        s.truncated = got.size() > keep;
        s.messages.reserve(keep);
        for (size_t i = 0; i < keep; ++i) s.messages.push_back(std::move(got[i].str));
        // Less than the idle TTL left (see Scripts): refresh it before answering, so
        // whoever reads the TTL after our reply sees it refreshed. Rare by design.
        if (rep.elements[3].integer < int64_t{s.ttl_s} * 1000) {
          touch(id, deadline, [s = std::move(s), done](const Status&, uint32_t) mutable {
            done({}, std::move(s));  // the read succeeded whatever the refresh did
          });
          return;
        }
        done({}, std::move(s));
      });
}

void SessionStore::append(const std::string& id, const std::string& op_id,
                          std::vector<std::string> messages, const std::string& expected_version,
                          TimePoint deadline, Done<AppendResult> done) {
  std::vector<std::string> args{op_id,
                                std::to_string(nowMs()),
                                std::to_string(options_.op_window.count()),
                                std::to_string(options_.op_cap),
                                std::to_string(options_.max_messages),
                                std::to_string(options_.max_history_bytes),
                                expected_version};
  for (auto& m : messages) args.push_back(std::move(m));
  // With an operation id the script dedupes, so a resend after a lost reply is safe.
  runScript(kAppend, id, std::move(args), writeOptions(deadline, !op_id.empty()),
            [this, done = std::move(done)](redis::Result&& r) {
              AppendResult a;
              Status st = check(r);
              if (st.ok()) {
                const auto& e = r.reply.elements;
                if (r.reply.type != Reply::Type::kArray || e.size() < 3) {
                  st = Status::error(ErrorCode::kInternal, "unexpected reply to the append script");
                } else {
                  a.version = static_cast<uint64_t>(e[0].integer);
                  a.length = static_cast<uint64_t>(e[1].integer);
                  a.dropped = static_cast<uint64_t>(e[2].integer);
                }
              }
              done(st, a);
            });
}

void SessionStore::update(const std::string& id, const std::string& op_id,
                          const std::string& expected_version, const std::string& settings,
                          const std::string& ttl, TimePoint deadline, Done<uint64_t> done) {
  runScript(kUpdate, id,
            {op_id, std::to_string(nowMs()), std::to_string(options_.op_window.count()),
             std::to_string(options_.op_cap), expected_version, settings, ttl},
            writeOptions(deadline, !op_id.empty()),
            [this, done = std::move(done)](redis::Result&& r) {
              Status st = check(r);
              done(st, st.ok() ? static_cast<uint64_t>(r.reply.integer) : 0);
            });
}

void SessionStore::touch(const std::string& id, TimePoint deadline, Done<uint32_t> done) {
  runScript(kTouch, id, {}, retryable(deadline), [this, done = std::move(done)](redis::Result&& r) {
    Status st = check(r);
    done(st, st.ok() ? static_cast<uint32_t>(r.reply.integer) : 0);
  });
}

void SessionStore::remove(const std::string& id, TimePoint deadline, Done<bool> done) {
  runScript(kDelete, id, {}, writeOptions(deadline, true),
            [this, id, deadline, done = std::move(done)](redis::Result&& r) {
              Status st = check(r);
              if (!st.ok() || r.reply.type != Reply::Type::kString) {
                done(st, false);  // nil: there was no such session
                return;
              }
              if (r.reply.str.empty()) {
                done({}, true);
                return;
              }
              std::string key = userKey(r.reply.str);
              redis_.command(key, {"ZREM", key, id}, retryable(deadline),
                             [done](redis::Result&&) { done({}, true); });
            });
}

void SessionStore::list(const std::string& user, uint32_t limit, TimePoint deadline,
                        Done<std::vector<std::string>> done) {
  std::string key = userKey(user);
  redis_.command(
      key, {"ZREVRANGE", key, "0", std::to_string(limit == 0 ? 0 : limit - 1), "WITHSCORES"},
      retryable(deadline), [this, key, deadline, done = std::move(done)](redis::Result&& r) {
        Status st = check(r);
        if (!st.ok()) {
          done(st, {});
          return;
        }
        // Sessions expire on their own, and a create writes the index before the session:
        // keep only ids whose session exists (one EXISTS each, on their own nodes, in
        // parallel), and forget entries without one once they are older than the grace.
        struct Pending {
          std::vector<std::string> ids;
          std::vector<int64_t> added_ms;
          std::vector<bool> alive;
          size_t waiting = 0;
        };
        auto p = std::make_shared<Pending>();
        const auto& e = r.reply.elements;
        for (size_t i = 0; i + 1 < e.size(); i += 2) {
          p->ids.push_back(e[i].str);
          p->added_ms.push_back(asInt(e[i + 1].str));
        }
        p->alive.assign(p->ids.size(), false);
        p->waiting = p->ids.size();
        if (p->ids.empty()) {
          done({}, {});
          return;
        }
        int64_t forget_before = nowMs() - options_.index_grace.count();
        for (size_t i = 0; i < p->ids.size(); ++i) {
          std::string meta = metaKey(p->ids[i]);
          redis_.command(
              meta, {"EXISTS", meta}, retryable(deadline),
              [this, p, i, key, forget_before, deadline, done](redis::Result&& x) {
                p->alive[i] = !x.status.ok() || x.reply.integer == 1;
                if (x.status.ok() && x.reply.integer == 0 && p->added_ms[i] < forget_before) {
                  redis_.command(key, {"ZREM", key, p->ids[i]}, retryable(deadline),
                                 [](redis::Result&&) {});
                }
                if (--p->waiting > 0) return;
                std::vector<std::string> out;
                for (size_t j = 0; j < p->ids.size(); ++j) {
                  if (p->alive[j]) out.push_back(p->ids[j]);
                }
                done({}, std::move(out));
              });
        }
      });
}

}  // namespace sb::session
