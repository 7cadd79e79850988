#include "openai_backend.h"

#include "sb/http/openai_api.h"
#include "stream_event.h"

namespace sb::inference {

using json = nlohmann::json;

struct OpenAiBackend::Stream {
  http::HttpClient::TransferId transfer = 0;
  ChatEvents events;
  http::SseParser sse;
  std::string error_body;
  ChatOutcome out;
  // Ended or cancelled: nothing more is delivered. The stream itself goes after the current
  // callbacks return (it may be ended from inside its own parser's callback).
  bool ended = false;
  // Ended at `data: [DONE]` while its transfer reads on to the end of the response, so that
  // libcurl can keep the connection for the next request (cancelling would close it).
  bool draining = false;
  int64_t deltas = 0;      // output chunks: the completion tokens when the backend reports none
  LoopHandle finish;       // delivers on_end once the current callbacks have returned
  LoopHandle drain_timer;  // a backend that never ends its response after [DONE]
  explicit Stream(size_t max_event) : sse(max_event) {}
};

struct OpenAiBackend::Probe {
  std::function<void(bool, std::string)> done;
  LoopHandle timer;
  http::HttpClient::TransferId transfer = 0;
};

namespace {

// A stream that went wrong after its 200: retryable elsewhere while no text was delivered,
// broken once some was (resending would repeat it).
ChatOutcome midStreamFailure(ChatOutcome out, std::string message) {
  out.failure = out.forwarded ? ChatFailure::kBroken : ChatFailure::kRetryable;
  out.message = std::move(message);
  return out;
}

// The failure a non-200 status stands for.
ChatFailure classify(long status) {
  if (status == 408 || status == 429 || status >= 500) return ChatFailure::kRetryable;
  if (status == 401 || status == 403 || status == 404) return ChatFailure::kRefused;
  return ChatFailure::kRejected;
}

}  // namespace

OpenAiBackend::OpenAiBackend(EventLoop& loop, http::HttpClient& http, OpenAiOptions options)
    : loop_(loop), http_(http), options_(std::move(options)) {
  options_.base_url = http::openAiApiRoot(std::move(options_.base_url));
}

OpenAiBackend::~OpenAiBackend() {
  for (auto& [id, s] : streams_) {
    if (s->transfer) http_.cancel(s->transfer);
  }
  for (auto& [id, p] : probes_) http_.cancel(p->transfer);
}

ChatBackend::StreamId OpenAiBackend::start(const ChatRequest& request, ChatEvents events) {
  StreamId id = next_id_++;
  auto s = std::make_unique<Stream>(options_.max_event_bytes);
  s->events = std::move(events);
  json body = request.params.is_object() ? request.params : json::object();
  std::string model = request.model.empty() ? options_.default_model : request.model;
  if (!model.empty()) body["model"] = model;
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  http::Request r = http::openAiPost(options_.base_url, "/v1/chat/completions", options_.api_key,
                                     body.dump(-1, ' ', false, json::error_handler_t::replace),
                                     options_.connect_timeout);
  r.headers.emplace_back("Accept: text/event-stream");
  Stream* raw = s.get();
  streams_.emplace(id, std::move(s));
  raw->transfer = http_.start(
      std::move(r), [this, id](long status, std::string_view bytes) { onData(id, status, bytes); },
      [this, id](const http::Result& result) { onDone(id, result); });
  return id;
}

void OpenAiBackend::cancel(StreamId id) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second->ended) return;
  it->second->events.on_end = nullptr;
  end(id, {});
}

void OpenAiBackend::probe(std::function<void(bool healthy, std::string why)> done) {
  uint64_t id = next_probe_++;
  auto& p = probes_[id];
  p = std::make_unique<Probe>();
  p->done = std::move(done);
  http::Request r;
  r.url = options_.base_url + "/v1/models";
  if (!options_.api_key.empty()) r.headers.push_back("Authorization: Bearer " + options_.api_key);
  r.connect_timeout = options_.connect_timeout;
  // Ends the probe exactly once, by the answer or the timeout, whichever comes first.
  auto finish = [this, id](bool healthy, std::string why) {
    auto it = probes_.find(id);
    if (it == probes_.end()) return;
    auto probe = std::move(it->second);
    probes_.erase(it);
    if (probe->transfer) http_.cancel(probe->transfer);
    probe->done(healthy, std::move(why));
  };
  p->transfer = http_.start(
      std::move(r), [](long, std::string_view) {},
      [this, id, finish](const http::Result& res) {
        if (auto it = probes_.find(id); it != probes_.end()) it->second->transfer = 0;
        if (res.ok && res.status == 200)
          finish(true, "");
        else
          finish(false, res.ok ? "GET /v1/models answered HTTP " + std::to_string(res.status)
                               : "GET /v1/models: " + res.error);
      });
  p->timer = loop_.after(options_.probe_timeout, [this, finish] {
    finish(false, "GET /v1/models: no answer within " +
                      std::to_string(options_.probe_timeout.count()) + " ms");
  });
}

void OpenAiBackend::onData(StreamId id, long status, std::string_view bytes) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second->ended) return;  // (draining: the rest is dropped)
  Stream& s = *it->second;
  s.out.http_status = status;
  if (status != 200) {
    size_t room = options_.max_error_body - std::min(options_.max_error_body, s.error_body.size());
    s.error_body.append(bytes.substr(0, room));
    return;
  }
  bool ok = s.sse.feed(bytes, [&](const http::SseEvent& e) {
    if (!s.ended) onEvent(id, s, e);
  });
  if (!ok && !s.ended)
    end(id, midStreamFailure(s.out, "unreadable stream from the backend: " + s.sse.error()));
}

void OpenAiBackend::onEvent(StreamId id, Stream& s, const http::SseEvent& event) {
  StreamEvent e = parseStreamEvent(event.data);
  switch (e.kind) {
    case StreamEvent::Kind::kDone: {
      ChatOutcome out = s.out;
      if (out.finish_reason.empty()) out.finish_reason = "stop";
      end(id, std::move(out), /*drain=*/true);
      return;
    }
    case StreamEvent::Kind::kBad:
      end(id, midStreamFailure(s.out, "the backend sent an event that is not a JSON object"));
      return;
    case StreamEvent::Kind::kError:
      end(id, midStreamFailure(s.out, http::openAiErrorMessage(200, event.data)));
      return;
    case StreamEvent::Kind::kChunk:
      break;
  }
  if (e.usage.is_object()) s.out.usage.reported = std::move(e.usage);
  if (!e.system_fingerprint.empty()) s.out.fingerprint = e.system_fingerprint;
  if (!e.model.empty()) s.out.model = e.model;
  if (!e.finish_reason.empty()) s.out.finish_reason = e.finish_reason;
  if (e.text.empty() && e.choices.is_null()) return;  // a role, usage, or nothing at all
  if (e.output_bytes > 0) ++s.deltas;
  s.out.delivered += e.output_bytes;
  s.out.forwarded = true;
  if (s.events.on_delta)
    s.events.on_delta({e.text, e.choices.is_null() ? nullptr : &e.choices, e.output_bytes});
}

void OpenAiBackend::onDone(StreamId id, const http::Result& result) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& s = *it->second;
  s.transfer = 0;  // finished: nothing left to cancel
  if (s.draining) {
    if (!s.finish)
      streams_.erase(it);  // on_end has run: the stream is done with
    else
      s.draining = false;  // it goes once on_end has run
    return;
  }
  if (s.ended) return;
  ChatOutcome out = s.out;
  out.http_status = result.status;
  if (!result.ok && !result.connected) {
    out.failure = ChatFailure::kConnect;
    out.message = "cannot reach the backend: " + result.error;
  } else if (result.status != 0 && result.status != 200) {
    out.failure = classify(result.status);
    out.message = http::openAiErrorMessage(result.status, s.error_body);
  } else if (!out.finish_reason.empty() && result.ok) {
    out.failure = ChatFailure::kNone;  // finished without a [DONE] line: some servers do that
  } else {
    out = midStreamFailure(out, result.ok ? "the backend closed the stream before it finished"
                                          : "the stream from the backend broke: " + result.error);
  }
  end(id, std::move(out));
}

void OpenAiBackend::end(StreamId id, ChatOutcome outcome, bool drain) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second->ended) return;
  Stream& s = *it->second;
  s.ended = true;
  if (drain && s.transfer) {
    s.draining = true;
    s.drain_timer = loop_.after(options_.drain_timeout, [this, id] {
      auto it = streams_.find(id);
      if (it == streams_.end()) return;
      if (it->second->transfer) http_.cancel(it->second->transfer);
      it->second->transfer = 0;
      it->second->draining = false;
      if (!it->second->finish) streams_.erase(it);
    });
  } else if (s.transfer) {
    http_.cancel(s.transfer);
    s.transfer = 0;
  }
  const json& reported = outcome.usage.reported;
  if (reported.is_object()) {
    for (auto [key, field] : {std::pair{"prompt_tokens", &outcome.usage.prompt_tokens},
                              std::pair{"completion_tokens", &outcome.usage.completion_tokens}}) {
      auto v = reported.find(key);
      if (v != reported.end() && v->is_number_integer() && v->get<int64_t>() >= 0)
        *field = v->get<int64_t>();
    }
  }
  if (outcome.usage.completion_tokens < 0 && s.deltas > 0) {
    outcome.usage.completion_tokens = s.deltas;  // OpenAI-style servers send a token a chunk
    outcome.usage.counted = true;
  }
  // After the current callbacks return: the parser may be mid-feed, and the caller may start
  // a retry from on_end right away. The handle is the stream's, so it goes with it.
  s.finish = loop_.beforePoll([this, id, outcome = std::move(outcome)] {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    auto on_end = std::move(it->second->events.on_end);
    // Still reading to the end of its response: it goes when that ends (onDone).
    if (it->second->draining) {
      it->second->events = {};
    } else {
      streams_.erase(it);  // (a callback may cancel its own registration)
    }
    if (on_end) on_end(outcome);
  });
}

}  // namespace sb::inference
