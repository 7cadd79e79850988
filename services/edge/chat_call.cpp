#include "chat_call.h"

#include "openai_usage.h"
#include "sb/core/json_body.h"

namespace sb::edge {

using json = nlohmann::json;
using proto::Kind;

ChatCall::ChatCall(EventLoop& loop, AsyncClient& bus, const EdgeOptions& options,
                   http::ExchangePtr ex, http::Headers headers, const std::string& request_id,
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

ChatCall::~ChatCall() {
  ex_->onClose(nullptr);
  cancelBus();
}

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
                                                        [this](const ChatTurnResult& r) {
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
    summary_.prompt_tokens = usageCount(usage, "prompt_tokens");
    summary_.completion_tokens = usageCount(usage, "completion_tokens");
  }
  if (req_.stream) {
    keepalive_.cancel();
    startStream();
    ex_->write(chunks_.finish(reply));
    ex_->end();
    return finish();
  }
  json out = {{"id", id_},
              {"object", "chat.completion"},
              {"created", created_},
              {"model", req_.model},
              {"choices", completion_.choices(reply)},
              {"usage", openAiUsage(reply)}};
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
  addErrorHeaders(e, options_.retry_after, h);
  ex_->respond(e.status, h, e.body().dump(-1, ' ', false, json::error_handler_t::replace));
  finish();
}

void ChatCall::finish() {
  if (finished_) return;
  finished_ = true;
  keepalive_.cancel();
  // The exchange outlives this call (the server holds it until the connection is done with
  // it): a client leaving after the answer must not call back into a destroyed call. (It did:
  // the freed call's memory, reused by a new call, had its turn cancelled, and that request
  // hung; ASan found it.)
  ex_->onClose(nullptr);
  auto done = std::move(done_);
  if (done) done(summary_);
}

}  // namespace sb::edge
