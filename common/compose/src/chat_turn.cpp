#include "sb/compose/chat_turn.h"

#include <cstdio>
#include <random>

#include "sb/core/json_body.h"

namespace sb {

using json = nlohmann::json;
using proto::ErrorCode;
using proto::Kind;
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

Status statusOf(const Incoming& in) {
  return in.kind == Kind::kError ? Status::error(in.code, in.message) : Status{};
}

}  // namespace

ChatTurn::ChatTurn(AsyncClient& client, ChatTurnOptions options, json messages, json params,
                   Events events)
    : client_(client),
      options_(std::move(options)),
      messages_(std::move(messages)),
      params_(params.is_object() ? std::move(params) : json::object()),
      events_(std::move(events)) {}

ChatTurn::~ChatTurn() { cancel(); }

void ChatTurn::cancel() {
  if (inflight_) client_.cancel(inflight_);
  inflight_ = 0;
  events_ = {};
}

CallOptions ChatTurn::callOptions() const {
  CallOptions o;
  o.deadline = options_.deadline;
  o.idempotent = true;  // reads, and writes with an operation id
  return o;
}

void ChatTurn::start() { getHistory(); }

void ChatTurn::getHistory() {
  inflight_ =
      client_.send("session", "session.get",
                   packJsonValue({{"id", options_.session}, {"last", options_.history}}),
                   callOptions(), [this](const Incoming& in) {
                     if (in.kind == Kind::kChunk) return;
                     inflight_ = 0;
                     if (in.kind == Kind::kError && in.code == ErrorCode::kNotFound)
                       return create();
                     if (in.kind == Kind::kError) return finish(statusOf(in));
                     json s = unpackJsonValue(in.body);
                     json history = json::array();
                     if (s.is_object() && s.contains("messages") && s["messages"].is_array()) {
                       for (auto& m : s["messages"]) {
                         if (m.is_object() && m.contains("role")) history.push_back(std::move(m));
                       }
                     }
                     infer(std::move(history));
                   });
}

void ChatTurn::create() {
  inflight_ = client_.send(
      "session", "session.create", packJsonValue({{"id", options_.session}, {"op_id", opId()}}),
      callOptions(), [this](const Incoming& in) {
        if (in.kind == Kind::kChunk) return;
        inflight_ = 0;
        // FAILED_PRECONDITION: created meanwhile, which is fine.
        if (in.kind == Kind::kError && in.code != ErrorCode::kFailedPrecondition)
          return finish(statusOf(in));
        infer(json::array());
      });
}

void ChatTurn::infer(json history) {
  result_.history = history.size();
  json body = params_;
  json all = std::move(history);
  for (const auto& m : messages_) all.push_back(m);
  body["messages"] = std::move(all);
  CallOptions o = callOptions();
  o.model = options_.model;
  o.idempotent = false;  // a stream is never re-dispatched
  inflight_ = client_.send("infer", "chat", packJsonValue(body), o, [this](const Incoming& in) {
    if (in.kind == Kind::kChunk) {
      completion_.add(unpackJsonValue(in.body));
      if (events_.on_chunk) events_.on_chunk(in);
      return;
    }
    inflight_ = 0;
    if (in.kind == Kind::kError) return finish(statusOf(in));
    result_.reply = unpackJsonValue(in.body);
    result_.assistant = completion_.message();
    append();
  });
}

void ChatTurn::append() {
  json stored = messages_;
  // The answer without its reasoning: it is not part of the conversation, and servers that
  // produce it (DeepSeek's API) refuse it in the messages of a later request.
  json answer = result_.assistant;
  if (answer.is_object()) {
    answer.erase("reasoning_content");
    answer.erase("reasoning");
  }
  stored.push_back(std::move(answer));
  json body = {{"id", options_.session}, {"op_id", opId()}, {"messages", std::move(stored)}};
  inflight_ = client_.send(
      "session", "session.append", packJsonValue(body), callOptions(), [this](const Incoming& in) {
        if (in.kind == Kind::kChunk) return;
        inflight_ = 0;
        Status st = statusOf(in);
        if (!st.ok()) st = Status::error(st.code, "the reply was not saved: " + st.message);
        finish(st);
      });
}

void ChatTurn::finish(Status status) {
  result_.status = std::move(status);
  auto done = std::move(events_.on_done);
  events_ = {};
  if (done) done(std::move(result_));  // (may destroy this turn)
}

ChatTurnResult runChatTurn(zmq::context_t& context, const std::vector<std::string>& routers,
                           const ChatTurnOptions& options, const std::string& text,
                           const std::function<void(std::string_view)>& on_token,
                           const CurveClientKeys& curve) {
  EventLoop loop;
  AsyncClientOptions co;
  co.curve = curve;
  AsyncClient client(context, loop, routers, co);
  ChatTurnResult out;
  bool done = false;
  ChatTurn turn(client, options, json::array({{{"role", "user"}, {"content", text}}}),
                json::object(),
                {[&](const Incoming& chunk) {
                   json c = unpackJsonValue(chunk.body);
                   if (on_token && c.is_object() && c.contains("delta") && c["delta"].is_string())
                     on_token(c["delta"].get_ref<const std::string&>());
                 },
                 [&](ChatTurnResult r) {
                   out = std::move(r);
                   done = true;
                   loop.stop();
                 }});
  turn.start();
  if (!done) loop.run();
  return out;
}

}  // namespace sb
