#include "sb/compose/chat_turn.h"

#include <cstdio>
#include <random>

#include "sb/core/json_body.h"

namespace sb {

using json = nlohmann::json;
using proto::ErrorCode;
using proto::Status;

namespace {

std::string opId() {
  std::random_device rd;
  std::mt19937_64 gen((uint64_t{rd()} << 32) ^ rd());
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(gen()),
                static_cast<unsigned long long>(gen()));
  return buf;
}

}  // namespace

ChatTurnResult chatTurn(Client& client, const ChatTurnOptions& o, const std::string& text,
                        const std::function<void(std::string_view)>& on_token) {
  ChatTurnResult out;
  CallOptions opts;
  opts.deadline = o.deadline;
  opts.idempotent = true;  // reads, and an append with an operation id
  // 1. History (a new session starts empty).
  json messages = json::array();
  auto got = client.call("session", "session.get",
                         packJsonValue({{"id", o.session}, {"last", o.history}}), opts);
  if (got.status.code == ErrorCode::kNotFound) {
    auto made = client.call("session", "session.create",
                            packJsonValue({{"id", o.session}, {"op_id", opId()}}), opts);
    if (!made.status.ok() && made.status.code != ErrorCode::kFailedPrecondition) {
      out.status = made.status;  // (FAILED_PRECONDITION: created meanwhile, which is fine)
      return out;
    }
  } else if (!got.status.ok()) {
    out.status = got.status;
    return out;
  } else {
    json s = unpackJsonValue(got.body);
    if (s.is_object() && s.contains("messages") && s["messages"].is_array()) {
      for (const auto& m : s["messages"]) {
        if (m.is_object() && m.contains("role") && m.contains("content"))
          messages.push_back({{"role", m["role"]}, {"content", m["content"]}});
      }
    }
  }
  json user = {{"role", "user"}, {"content", text}};
  messages.push_back(user);
  // 2. The model, streamed.
  CallOptions chat = opts;
  chat.model = o.model;
  chat.idempotent = false;  // a stream is never re-dispatched
  auto r = client.call("infer", "chat", packJsonValue({{"messages", messages}}), chat,
                       [&](const Incoming& in) {
                         json c = unpackJsonValue(in.body);
                         if (!c.is_object() || !c.contains("delta") || !c["delta"].is_string())
                           return;
                         const std::string& d = c["delta"].get_ref<const std::string&>();
                         out.reply += d;
                         if (on_token) on_token(d);
                       });
  if (!r.status.ok()) {
    out.status = r.status;
    return out;
  }
  json done = unpackJsonValue(r.body);
  if (done.is_object() && done.contains("usage")) out.usage = done["usage"];
  // 3. Both messages in one atomic append.
  json append = {{"id", o.session},
                 {"op_id", opId()},
                 {"messages", {user, {{"role", "assistant"}, {"content", out.reply}}}}};
  auto a = client.call("session", "session.append", packJsonValue(append), opts);
  if (!a.status.ok()) {
    out.status = Status::error(a.status.code, "the reply was not saved: " + a.status.message);
  }
  return out;
}

}  // namespace sb
