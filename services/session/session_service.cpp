#include "session_service.h"

#include <cstdio>

#include "sb/proto/body_codec.h"
#include "sb/proto/body_fields.h"
#include "session_fields.h"

namespace sb::session {

using proto::BodyFields;
using proto::Status;

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

std::string_view bytes(const msgpack::sbuffer& b) { return {b.data(), b.size()}; }

// Writes an already-encoded msgpack value (or nil when there is none) into a reply.
void packRaw(msgpack::sbuffer& buf, Packer& pk, const std::string& raw) {
  if (raw.empty())
    pk.pack_nil();
  else
    buf.write(raw.data(), raw.size());
}

// Decodes the body and returns its fields, or fails the call and returns false.
bool readBody(const CallPtr& call, msgpack::object_handle& oh) {
  Status st = call->decodeBody(oh);
  if (!st.ok()) {
    call->fail(st.code, st.message);
    return false;
  }
  return true;
}

bool bad(const CallPtr& call, const BodyFields& f) {
  if (f.ok()) return false;
  call->fail(f.status().code, f.status().message);
  return true;
}

// For ops whose body is just {"id": ...}: reads it, or fails the call and returns false.
bool readOnlyId(const CallPtr& call, std::string& id) {
  msgpack::object_handle oh;
  if (!readBody(call, oh)) return false;
  BodyFields f(oh.get());
  readId(f, "id", id, true);
  return !bad(call, f);
}

// Answers {key: value}, or the error.
template <typename T>
void replyOne(const CallPtr& call, const Status& st, const char* key, const T& value) {
  if (!st.ok()) return call->fail(st.code, st.message);
  std::map<std::string, T> reply{{key, value}};
  call->reply(proto::packBody(reply));
}

}  // namespace

SessionService::SessionService(Worker& worker, redis::SlotClient& redis, SessionStore& store,
                               ServiceOptions options)
    : worker_(worker), redis_(redis), store_(store), options_(options) {
  worker_.handle("session.create", [this](const CallPtr& c) { create(c); });
  worker_.handle("session.get", [this](const CallPtr& c) { get(c); });
  worker_.handle("session.append", [this](const CallPtr& c) { append(c); });
  worker_.handle("session.update", [this](const CallPtr& c) { update(c); });
  worker_.handle("session.touch", [this](const CallPtr& c) { touch(c); });
  worker_.handle("session.delete", [this](const CallPtr& c) { remove(c); });
  worker_.handle("session.list", [this](const CallPtr& c) { list(c); });
  worker_.handle("session.status", [this](const CallPtr& c) { status(c); });
}

TimePoint SessionService::redisDeadline(const Call& call) const {
  // Answer a little before the caller's deadline, so the caller hears why.
  TimePoint now = worker_.loop().now();
  if (call.deadline() == TimePoint::max()) return now + options_.redis_deadline;
  return std::max(now, call.deadline() - Millis(50));
}

std::string SessionService::newId() {
  Random& random = worker_.loop().random();
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(random.next()),
                static_cast<unsigned long long>(random.next()));
  return buf;
}

void SessionService::create(const CallPtr& call) {
  msgpack::object_handle oh;
  if (!readBody(call, oh)) return;
  BodyFields f(oh.get());  // a map, even if empty: {} makes a session with a generated id
  std::string id, user, metadata, settings, op_id;
  uint64_t ttl = options_.ttl_s;
  bool has_ttl = false, has_op = false;
  readId(f, "id", id, false);
  readId(f, "user", user, false);
  f.packed("metadata", metadata, options_.max_field_bytes);
  f.packed("settings", settings, options_.max_field_bytes);
  f.uint("ttl", ttl, has_ttl, 1, options_.max_ttl_s);
  f.str("op_id", op_id, has_op, 64);
  if (has_op && id.empty()) {
    f.fail("'op_id' needs 'id': a resend must name the session it made");
  }
  if (bad(call, f)) return;
  if (id.empty()) id = newId();
  // Our own operation id makes our internal retries safe; a caller's extends that to its
  // resends of the whole request.
  if (op_id.empty()) op_id = newId();
  store_.create(id, user, metadata, settings, static_cast<uint32_t>(ttl), op_id,
                redisDeadline(*call), [call, id](const Status& st, uint64_t version) {
                  if (!st.ok()) return call->fail(st.code, st.message);
                  msgpack::sbuffer buf;
                  Packer pk(buf);
                  pk.pack_map(2);
                  pk.pack("id"), pk.pack(id);
                  pk.pack("version"), pk.pack(version);
                  call->reply(bytes(buf));
                });
}

void SessionService::get(const CallPtr& call) {
  msgpack::object_handle oh;
  if (!readBody(call, oh)) return;
  BodyFields f(oh.get());
  std::string id;
  uint64_t last = options_.default_last;
  int64_t start = 0, stop = -1;
  bool has_last = false, has_start = false, has_stop = false;
  readId(f, "id", id, true);
  f.uint("last", last, has_last, 0, options_.max_get);
  f.integer("start", start, has_start);
  f.integer("stop", stop, has_stop);
  if (has_last && (has_start || has_stop)) f.fail("give either 'last' or 'start'/'stop'");
  if (bad(call, f)) return;
  int64_t first = -static_cast<int64_t>(last), final = -1;
  if (has_start || has_stop) {
    first = start;
    final = stop;
  } else if (last == 0) {
    first = 1;  // an empty range: metadata only
    final = 0;
  }
  // At most max_get messages: the first ones of the range, `truncated` says there were more
  // and `start` where the reply begins, so the caller can ask for the rest.
  store_.get(id, first, final, options_.max_get, options_.replica_reads, redisDeadline(*call),
             [call](const Status& st, const SessionData& s) {
               if (!st.ok()) return call->fail(st.code, st.message);
               msgpack::sbuffer buf;
               Packer pk(buf);
               pk.pack_map(12);
               pk.pack("id"), pk.pack(s.id);
               pk.pack("user"), pk.pack(s.user);
               pk.pack("metadata"), packRaw(buf, pk, s.metadata);
               pk.pack("settings"), packRaw(buf, pk, s.settings);
               pk.pack("version"), pk.pack(s.version);
               pk.pack("created_ms"), pk.pack(s.created_ms);
               pk.pack("updated_ms"), pk.pack(s.updated_ms);
               pk.pack("ttl"), pk.pack(s.ttl_s);
               pk.pack("length"), pk.pack(s.length);
               pk.pack("start"), pk.pack(s.first);
               pk.pack("truncated"), pk.pack(s.truncated);
               pk.pack("messages");
               pk.pack_array(static_cast<uint32_t>(s.messages.size()));
               for (const auto& m : s.messages) buf.write(m.data(), m.size());
               call->reply(bytes(buf));
             });
}

void SessionService::append(const CallPtr& call) {
  msgpack::object_handle oh;
  if (!readBody(call, oh)) return;
  BodyFields f(oh.get());
  std::string id, op_id;
  uint64_t expected = 0;
  bool has_expected = false, has_op = false;
  readId(f, "id", id, true);
  f.uint("expected_version", expected, has_expected, 0, UINT64_MAX);
  f.str("op_id", op_id, has_op, 64);
  std::vector<std::string> messages;
  const msgpack::object* list = f.raw("messages");
  if (!list || list->type != msgpack::type::ARRAY || list->via.array.size == 0 ||
      list->via.array.size > options_.max_batch) {
    f.fail("'messages' must be an array of 1 to " + std::to_string(options_.max_batch) +
           " messages");
  } else {
    for (uint32_t i = 0; i < list->via.array.size && f.ok(); ++i) {
      const msgpack::object& m = list->via.array.ptr[i];
      if (std::string why = checkMessage(m); !why.empty()) {
        f.fail("message " + std::to_string(i) + " " + why);
        break;
      }
      messages.push_back(proto::packBody(m));
      if (messages.back().size() > options_.max_message_bytes) {
        f.fail("message " + std::to_string(i) + " is " + std::to_string(messages.back().size()) +
               " bytes encoded; the limit is " + std::to_string(options_.max_message_bytes));
      }
    }
  }
  if (bad(call, f)) return;
  // Our own operation id makes our internal retries safe; a caller's id extends that to its
  // retries of the whole request.
  if (op_id.empty()) op_id = newId();
  store_.append(id, op_id, std::move(messages), has_expected ? std::to_string(expected) : "",
                redisDeadline(*call), [call](const Status& st, const AppendResult& a) {
                  if (!st.ok()) return call->fail(st.code, st.message);
                  msgpack::sbuffer buf;
                  Packer pk(buf);
                  pk.pack_map(3);
                  pk.pack("version"), pk.pack(a.version);
                  pk.pack("length"), pk.pack(a.length);
                  pk.pack("dropped"), pk.pack(a.dropped);
                  call->reply(bytes(buf));
                });
}

void SessionService::update(const CallPtr& call) {
  msgpack::object_handle oh;
  if (!readBody(call, oh)) return;
  BodyFields f(oh.get());
  std::string id, op_id, settings;
  uint64_t expected = 0, ttl = 0;
  bool has_expected = false, has_ttl = false, has_op = false;
  readId(f, "id", id, true);
  f.uint("expected_version", expected, has_expected, 0, UINT64_MAX);
  f.uint("ttl", ttl, has_ttl, 1, options_.max_ttl_s);
  f.str("op_id", op_id, has_op, 64);
  f.packed("settings", settings, options_.max_field_bytes);
  if (settings.empty() && !has_ttl) f.fail("session.update needs 'settings' or 'ttl'");
  if (bad(call, f)) return;
  if (op_id.empty()) op_id = newId();
  store_.update(
      id, op_id, has_expected ? std::to_string(expected) : "", settings,
      has_ttl ? std::to_string(ttl) : "", redisDeadline(*call),
      [call](const Status& st, uint64_t version) { replyOne(call, st, "version", version); });
}

void SessionService::touch(const CallPtr& call) {
  std::string id;
  if (!readOnlyId(call, id)) return;
  store_.touch(id, redisDeadline(*call),
               [call](const Status& st, uint32_t ttl) { replyOne(call, st, "ttl", ttl); });
}

void SessionService::remove(const CallPtr& call) {
  std::string id;
  if (!readOnlyId(call, id)) return;
  store_.remove(id, redisDeadline(*call),
                [call](const Status& st, bool deleted) { replyOne(call, st, "deleted", deleted); });
}

void SessionService::list(const CallPtr& call) {
  msgpack::object_handle oh;
  if (!readBody(call, oh)) return;
  BodyFields f(oh.get());
  std::string user;
  uint64_t limit = 100;
  bool has_limit = false;
  readId(f, "user", user, true);
  f.uint("limit", limit, has_limit, 1, 1000);
  if (bad(call, f)) return;
  store_.list(user, static_cast<uint32_t>(limit), redisDeadline(*call),
              [call](const Status& st, const std::vector<std::string>& ids) {
                replyOne(call, st, "sessions", ids);
              });
}

void SessionService::status(const CallPtr& call) {
  const auto& c = redis_.counters();
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_map(4);
  pk.pack("ready"), pk.pack(redis_.ready());
  const char* topo = redis_.topology() == redis::Topology::kSingle   ? "single"
                     : redis_.topology() == redis::Topology::kShards ? "shards"
                                                                     : "cluster";
  pk.pack("topology"), pk.pack(topo);
  auto ranges = redis_.map().ranges();
  pk.pack("slots");
  pk.pack_array(static_cast<uint32_t>(ranges.size()));
  for (const auto& r : ranges) {
    pk.pack_array(4);
    pk.pack(r.first), pk.pack(r.last), pk.pack(r.shard->master.address());
    pk.pack_array(static_cast<uint32_t>(r.shard->replicas.size()));
    for (const auto& rep : r.shard->replicas) pk.pack(rep.address());
  }
  std::map<std::string, uint64_t> counters{
      {"commands", c.commands},
      {"moved", c.moved},
      {"ask", c.ask},
      {"tryagain", c.tryagain},
      {"clusterdown", c.clusterdown},
      {"readonly", c.readonly},
      {"noscript", c.noscript},
      {"connection_errors", c.connection_errors},
      {"refreshes", c.refreshes},
      {"unavailable", c.unavailable},
  };
  pk.pack("counters"), pk.pack(counters);
  call->reply(bytes(buf));
}

}  // namespace sb::session
