#include "chat_call.h"

#include "sb/core/json_body.h"

namespace sb::edge {

using json = nlohmann::json;
using proto::Kind;

namespace {

int64_t countAt(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}

}  // namespace

ChatCall::ChatCall(EventLoop& loop, AsyncClient& bus, const EdgeOptions& options,
                   http::ExchangePtr ex, http::Headers headers, std::string request_id,
                   Request request, std::function<void(const CallSummary&)> done)
    : loop_(loop),
      bus_(bus),
      options_(options),
      ex_(std::move(ex)),
      headers_(std::move(headers)),
      id_("chatcmpl-" + request_id),
      req_(std::move(request)),
      done_(std::move(done)),
      created_(std::chrono::duration_cast<std::chrono::seconds>(loop.wallNow().time_since_epoch())
                   .count()),
      chunks_(id_, created_, req_.model, req_.include_usage) {
  summary_.model = req_.model;
}

ChatCall::~ChatCall() { cancelBus(); }

void ChatCall::cancelBus() {
  turn_.reset();  // (cancels its request in flight)
  if (bus_id_) bus_.cancel(bus_id_);
  bus_id_ = 0;
}

void ChatCall::start() {
  // The client leaving ends the call at once: the bus request, and so the backend's
  // transfer, is cancelled.
  ex_->onClose([this] {
    cancelBus();
    finish();
  });
  if (req_.stream) {
    // Headers wait for the first chunk, so that an error before it still gets its real HTTP
    // status; a slow first token gets `: keep-alive` comments (the headers go with the first).
    keepalive_ = loop_.every(options_.keepalive, [this] {
      startStream();
      ex_->write(": keep-alive\n\n");
    });
  }
  if (!req_.session.empty()) {
    ChatTurnOptions o;
    o.session = req_.session;
    o.model = req_.model;
    o.history = options_.history;
    o.deadline = options_.request_timeout;
    turn_ = std::make_unique<ChatTurn>(bus_, o, req_.messages, req_.params,
                                       ChatTurn::Events{[this](const Incoming& c) { onChunk(c); },
                                                        [this](ChatTurnResult r) {
                                                          if (r.status.ok())
                                                            onReply(r.reply);
                                                          else
                                                            onError(r.status);
                                                        }});
    turn_->start();
    return;
  }
  json body = req_.params;
  body["messages"] = req_.messages;
  CallOptions o;
  o.model = req_.model;
  o.deadline = options_.request_timeout;
  bus_id_ = bus_.send("infer", "chat", packJsonValue(body), o, [this](const Incoming& in) {
    if (in.kind == Kind::kChunk) return onChunk(in);
    bus_id_ = 0;
    if (in.kind == Kind::kReply) return onReply(unpackJsonValue(in.body));
    onError(proto::Status::error(in.code, in.message));
  });
}

void ChatCall::startStream() {
  if (streaming_) return;
  streaming_ = true;
  http::Headers h = headers_;
  h.emplace_back("Content-Type", "text/event-stream");
  h.emplace_back("Cache-Control", "no-cache");
  h.emplace_back("X-Accel-Buffering", "no");  // nginx in front: pass each event on at once
  ex_->startStream(200, h);
}

void ChatCall::onChunk(const Incoming& chunk) {
  json body = unpackJsonValue(chunk.body);
  if (summary_.first_token.count() < 0)
    summary_.first_token = std::chrono::duration_cast<Millis>(loop_.now() - ex_->started());
  if (!req_.stream) {
    completion_.add(body);
    return;
  }
  keepalive_.cancel();
  startStream();
  std::string events = chunks_.chunk(body);
  if (!events.empty()) ex_->write(events);
}

void ChatCall::onReply(const json& reply) {
  const json usage = reply.is_object() && reply.contains("usage") ? reply["usage"] : json();
  if (usage.is_object()) {
    summary_.prompt_tokens = countAt(usage, "prompt_tokens");
    summary_.completion_tokens = countAt(usage, "completion_tokens");
  }
  if (req_.stream) {
    keepalive_.cancel();
    startStream();
    ex_->write(chunks_.finish(reply));
    ex_->end();
    return finish();
  }
  json u = usage.is_object() ? usage : json::object();
  u.erase("counted");
  int64_t prompt = std::max<int64_t>(0, countAt(u, "prompt_tokens")),
          completion = std::max<int64_t>(0, countAt(u, "completion_tokens"));
  u["prompt_tokens"] = prompt;
  u["completion_tokens"] = completion;
  if (!u.contains("total_tokens")) u["total_tokens"] = prompt + completion;
  json out = {
      {"id", id_},           {"object", "chat.completion"},           {"created", created_},
      {"model", req_.model}, {"choices", completion_.choices(reply)}, {"usage", std::move(u)}};
  if (reply.is_object() && reply.contains("system_fingerprint"))
    out["system_fingerprint"] = reply["system_fingerprint"];
  http::Headers h = headers_;
  h.emplace_back("Content-Type", "application/json");
  ex_->respond(200, h, out.dump(-1, ' ', false, json::error_handler_t::replace));
  finish();
}

void ChatCall::onError(const proto::Status& status) {
  keepalive_.cancel();
  HttpError e = fromStatus(status);
  if (streaming_) {
    // Too late for a status: an error event the SDKs raise, then the end. Never a silent
    // end that would look like a finished answer.
    ex_->write(ChunkStream::error(e.body()));
    ex_->end();
    return finish();
  }
  http::Headers h = headers_;
  h.emplace_back("Content-Type", "application/json");
  if (e.status == 429 || e.status == 503) {
    h.emplace_back("Retry-After", std::to_string((options_.retry_after.count() + 999) / 1000));
    h.emplace_back("retry-after-ms", std::to_string(options_.retry_after.count()));
  }
  if (!e.retryable() && e.status >= 500) h.emplace_back("x-should-retry", "false");
  ex_->respond(e.status, h, e.body().dump(-1, ' ', false, json::error_handler_t::replace));
  finish();
}

void ChatCall::finish() {
  if (finished_) return;
  finished_ = true;
  keepalive_.cancel();
  auto done = std::move(done_);
  if (done) done(summary_);
}

}  // namespace sb::edge
