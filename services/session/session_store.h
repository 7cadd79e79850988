#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "sb/core/event_loop.h"
#include "sb/proto/status.h"
#include "sb/redis/slot_client.h"

namespace sb::session {

struct StoreOptions {
  std::string prefix = "sb:session:";
  uint32_t max_messages = 1000;        // history cap: count
  size_t max_history_bytes = 1 << 20;  // history cap: bytes of stored messages
  uint32_t index_ttl_s = 30 * 86400;   // TTL of a user's session index (the longest TTL)
  int min_replicas_ack = 0;            // WAIT for this many replicas after each write
  Millis ack_timeout{1000};
  Millis op_window{3600 * 1000};  // how long an operation id is remembered
  uint32_t op_cap = 10000;        // ...and how many per session at most (the oldest go first)
  // An index entry whose session does not exist is dropped by list only once it is older than
  // this (a create writes the index first, then the session).
  Millis index_grace{60000};
};

struct SessionData {
  std::string id;
  std::string user;
  std::string metadata;  // msgpack bytes as given at create
  std::string settings;  // msgpack bytes
  uint64_t version = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  uint32_t ttl_s = 0;
  uint64_t length = 0;                // messages stored
  uint64_t first = 0;                 // index of messages[0] in the history
  bool truncated = false;             // the range held more than the reply may carry
  std::vector<std::string> messages;  // msgpack bytes each, oldest first
};

struct AppendResult {
  uint64_t version = 0;
  uint64_t length = 0;
  uint64_t dropped = 0;  // old messages removed by the history cap
};

// Sessions in Redis through the slot client: every key of a session carries its id as hash
// tag (`<prefix>{<id>}:meta`, `:msgs`, `:ops`, `:opt`), so each operation is one Lua script
// (or one MULTI of reads) on one node. Calls end exactly once through their callback.
class SessionStore {
 public:
  template <typename T>
  using Done = std::function<void(proto::Status, T)>;

  SessionStore(EventLoop& loop, redis::SlotClient& redis, StoreOptions options);

  // Learns the scripts' SHA1s (SCRIPT LOAD); until then scripts go as EVAL. Retries by itself.
  void loadScripts();

  // With a user, the user's index is written first, then the session: a session is never
  // missing from its user's list, and a resend with the same op_id after any failure
  // completes what the first attempt started.
  void create(const std::string& id, const std::string& user, const std::string& metadata,
              const std::string& settings, uint32_t ttl_s, const std::string& op_id,
              TimePoint deadline, Done<uint64_t> done);
  // Messages [first, last] as LRANGE indexes (negative counts from the end), at most `max`
  // of them (the first `max` of the range; `truncated` says when there were more).
  void get(const std::string& id, int64_t first, int64_t last, uint32_t max, bool from_replica,
           TimePoint deadline, Done<SessionData> done);
  void append(const std::string& id, const std::string& op_id, std::vector<std::string> messages,
              const std::string& expected_version, TimePoint deadline, Done<AppendResult> done);
  void update(const std::string& id, const std::string& op_id, const std::string& expected_version,
              const std::string& settings, const std::string& ttl, TimePoint deadline,
              Done<uint64_t> done);
  void touch(const std::string& id, TimePoint deadline, Done<uint32_t> done);
  void remove(const std::string& id, TimePoint deadline, Done<bool> done);
  void list(const std::string& user, uint32_t limit, TimePoint deadline,
            Done<std::vector<std::string>> done);

  std::string key(const std::string& id, const char* part) const {
    return options_.prefix + "{" + id + "}:" + part;
  }
  std::string metaKey(const std::string& id) const { return key(id, "meta"); }
  std::string msgsKey(const std::string& id) const { return key(id, "msgs"); }
  std::string userKey(const std::string& user) const {
    return options_.prefix + "user:{" + user + "}";
  }

 private:
  enum ScriptId { kCreate, kAppend, kUpdate, kTouch, kDelete, kScriptCount };
  void runScript(ScriptId script, const std::string& id, std::vector<std::string> args,
                 redis::CommandOptions opts, redis::SlotClient::Callback cb);
  // A command that is safe to resend after a lost reply (reads, idempotent writes).
  static redis::CommandOptions retryable(TimePoint deadline);
  redis::CommandOptions writeOptions(TimePoint deadline, bool idempotent) const;
  // Maps a transport failure, a Redis error reply or a missing acknowledgement to a status.
  proto::Status check(const redis::Result& r) const;
  int64_t nowMs() const { return unixMillis(loop_.wallNow()); }

  EventLoop& loop_;
  redis::SlotClient& redis_;
  StoreOptions options_;
  std::array<std::string, kScriptCount> sha_;
  LoopHandle reload_;  // SCRIPT LOAD again for what did not load
};

}  // namespace sb::session
