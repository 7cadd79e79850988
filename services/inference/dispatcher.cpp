#include "dispatcher.h"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <msgpack.hpp>

#include "chat_request.h"
#include "sb/core/json_body.h"

namespace sb::inference {

using json = nlohmann::json;
using proto::ErrorCode;

struct Dispatcher::Job {
  uint64_t id = 0;  // in jobs_
  CallPtr call;
  ChatRequest request;
  std::vector<MemberId> tried;
  MemberId backend = 0;
  ChatBackend::StreamId stream = 0;
  bool running = false;    // an attempt is out on `backend`
  size_t delivered = 0;    // bytes of output sent to the caller, over every attempt
  bool forwarded = false;  // a chunk went to the caller: no retry may repeat it
  bool got_token = false;  // in the running attempt
  TimePoint received{};    // when the call arrived
  Millis first_token{-1};  // of the attempt that delivered, for the access log
  bool timed_out = false;  // the running attempt ended by our first-token or idle timeout
  TimePoint started{};     // of the running attempt
  std::string last_error;
  LoopHandle timer;  // first-token or idle timeout of the running attempt
};

namespace {

const char* failureName(ChatFailure f) {
  switch (f) {
    case ChatFailure::kConnect:
      return "connect";
    case ChatFailure::kRetryable:
      return "retryable";
    case ChatFailure::kRefused:
      return "refused";
    case ChatFailure::kRejected:
      return "rejected";
    case ChatFailure::kBroken:
      return "broken";
    default:
      return "none";
  }
}

}  // namespace

Dispatcher::Dispatcher(EventLoop& loop, DispatchOptions options)
    : loop_(loop), options_(options), balancer_(loop.clock(), loop.random(), options.failure) {}

Dispatcher::~Dispatcher() {
  // The calls may outlive us (the worker holds them too): their cancel must not call back.
  for (auto& [id, job] : jobs_) job->call->onCancel(nullptr);
}

void Dispatcher::startProbes() {
  if (options_.probe_interval.count() <= 0 || probe_timer_) return;
  probeAll();
  probe_timer_ = loop_.every(options_.probe_interval, [this] { probeAll(); });
}

void Dispatcher::probeAll() {
  // Backends are ours, and a backend being destroyed never calls back: `this` is safe here and
  // in every backend callback below.
  for (MemberId id = 0; id < backends_.size(); ++id) {
    backends_[id]->probe([this, id](bool healthy, std::string why) {
      if (probe_down_[id] == !healthy) return;
      probe_down_[id] = !healthy;
      balancer_.setDraining(id, !healthy);  // out of rotation, streams in flight finish
      if (healthy)
        spdlog::info("backend {} passed its probe: back in rotation", specs_[id].name);
      else
        spdlog::warn("backend {} failed its probe, out of rotation: {}", specs_[id].name, why);
    });
  }
}

void Dispatcher::addBackend(BackendSpec spec, std::unique_ptr<ChatBackend> backend) {
  MemberSpec w;
  w.weight = spec.weight;
  w.capacity = spec.max_conns;
  w.backup = spec.backup;
  w.tags = spec.models;
  balancer_.upsert(specs_.size(), w);
  const Labels labels{{"backend", spec.name}};
  backend_metrics_.push_back(
      {&metrics_.gauge("sb_infer_backend_inflight", "Streams open on the backend", labels),
       &metrics_.counter("sb_infer_backend_requests_total", "Streams started on the backend",
                         labels),
       &metrics_.counter("sb_infer_backend_tokens_total", "Text chunks (tokens) streamed", labels),
       &metrics_.histogram("sb_infer_backend_time_to_first_token_seconds",
                           "From sending the request to the backend to its first token",
                           MetricsRegistry::latencyBuckets(), labels)});
  specs_.push_back(std::move(spec));
  backends_.push_back(std::move(backend));
  probe_down_.push_back(false);
}

uint32_t Dispatcher::capacity() const {
  uint32_t n = 0;
  for (const auto& s : specs_) n += s.max_conns;
  return n;
}

std::vector<std::string> Dispatcher::models() const {
  std::vector<std::string> out;
  for (const auto& s : specs_) {
    if (s.models.empty()) return {};
    for (const auto& m : s.models) {
      if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
    }
  }
  return out;
}

void Dispatcher::chat(const CallPtr& call) {
  auto job = std::make_shared<Job>();
  proto::Status st = parseChatRequest(call->body(), call->model(), call->limits(), job->request);
  if (!st.ok()) return call->fail(st.code, st.message);
  job->id = next_job_++;
  job->call = call;
  job->received = loop_.now();
  jobs_.emplace(job->id, job);
  call->onCancel([this, id = job->id] {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    JobPtr job = it->second;
    if (job->running) {
      backends_[job->backend]->cancel(job->stream);  // no on_end after a cancel
      settle(job, Outcome::kNeutral);
    }
    accessLog(*job, "cancelled", nullptr);
    jobs_.erase(id);
  });
  dispatch(job);
}

void Dispatcher::end(const JobPtr& job) {
  job->call->onCancel(nullptr);
  jobs_.erase(job->id);
}

void Dispatcher::dispatch(const JobPtr& job) {
  auto id = balancer_.select(job->request.model, job->tried);
  if (!id) {
    std::string why = job->tried.empty()
                          ? "no backend can take a request for model '" + job->request.model + "'"
                          : "every backend tried failed; last: " + job->last_error;
    accessLog(*job, job->tried.empty() ? "no_backend" : "unavailable", nullptr);
    job->call->fail(ErrorCode::kUnavailable, why);
    end(job);
    return;
  }
  job->tried.push_back(*id);
  job->backend = *id;
  job->running = true;
  job->got_token = false;
  job->timed_out = false;
  job->started = loop_.now();
  balancer_.onStart(*id);
  backend_metrics_[*id].requests->inc();
  backend_metrics_[*id].inflight->inc();
  armTimer(job, options_.first_token_timeout, "no first token");
  // The backend's callbacks own the job while the attempt runs; everything else refers to it
  // weakly, so a finished job goes with its last attempt.
  job->stream =
      backends_[*id]->start(job->request, {[this, job](const ChatDelta& d) { onDelta(job, d); },
                                           [this, job](const ChatOutcome& o) { onEnd(job, o); }});
}

void Dispatcher::onDelta(const JobPtr& job, const ChatDelta& d) {
  if (!job->running || job->call->done()) return;
  job->forwarded = true;
  if (d.output_bytes > 0) {
    job->delivered += d.output_bytes;
    const BackendMetrics& m = backend_metrics_[job->backend];
    if (!job->got_token) {
      // Any output starts the answer, reasoning and tool calls too: a long reasoning phase
      // is not a silent backend.
      job->got_token = true;
      auto ttft = loop_.now() - job->started;
      job->first_token = std::chrono::duration_cast<Millis>(loop_.now() - job->received);
      m.first_token->observe(std::chrono::duration<double>(ttft).count());
    }
    m.tokens->inc();
    armTimer(job, options_.idle_timeout, "no token");
  }
  json c = {{"delta", std::string(d.text)}};
  if (d.choices) c["choices"] = *d.choices;
  job->call->chunk(packJsonValue(c));
}

void Dispatcher::accessLog(const Job& job, std::string_view status, const ChatOutcome* o) {
  auto ms = [](SteadyClock::duration d) { return std::chrono::duration_cast<Millis>(d).count(); };
  if (!job.tried.empty()) {
    Labels labels{{"gen_ai_operation_name", "chat"},
                  {"gen_ai_provider_name", specs_[job.backend].provider},
                  {"gen_ai_request_model", model_label_(job.request.model)}};
    bool ok = o && o->failure == ChatFailure::kNone;
    if (ok) {
      for (const auto& [type, n] : {std::pair{"input", o->usage.prompt_tokens},
                                    std::pair{"output", o->usage.completion_tokens}}) {
        if (n < 0) continue;
        Labels with_type = labels;
        with_type.emplace_back("gen_ai_token_type", type);
        metrics_
            .histogram("gen_ai_client_token_usage", "Tokens used per request, by type",
                       gen_ai::tokenBuckets(), with_type)
            .observe(static_cast<double>(n));
      }
    } else {
      labels.emplace_back("error_type", std::string(status));
    }
    metrics_
        .histogram("gen_ai_client_operation_duration_seconds",
                   "Time from request to the backend's last token (or failure)",
                   gen_ai::durationBuckets(), labels)
        .observe(std::chrono::duration<double>(loop_.now() - job.received).count());
  }
  spdlog::info(
      "access op=chat id={} model={} backend={} status={} prompt_tokens={} "
      "completion_tokens={} ttft_ms={} duration_ms={} tries={}",
      job.call->id(), job.request.model.empty() ? "-" : job.request.model,
      job.tried.empty() ? "-" : specs_[job.backend].name, status, o ? o->usage.prompt_tokens : -1,
      o ? o->usage.completion_tokens : -1, job.first_token.count(), ms(loop_.now() - job.received),
      job.tried.size());
}

void Dispatcher::onEnd(const JobPtr& job, const ChatOutcome& o) {
  if (!job->running) return;
  const BackendSpec& spec = specs_[job->backend];
  if (o.failure == ChatFailure::kNone) {
    settle(job, Outcome::kSuccess);
    json usage = o.usage.reported.is_object() ? o.usage.reported : json::object();
    if (o.usage.prompt_tokens >= 0) usage["prompt_tokens"] = o.usage.prompt_tokens;
    if (o.usage.completion_tokens >= 0) usage["completion_tokens"] = o.usage.completion_tokens;
    if (o.usage.counted) usage["counted"] = true;
    json reply = {{"finish_reason", o.finish_reason},
                  {"usage", usage},
                  {"backend", spec.name},
                  {"delivered", job->delivered}};
    if (!o.fingerprint.empty()) reply["system_fingerprint"] = o.fingerprint;
    if (!o.model.empty()) reply["model"] = o.model;
    accessLog(*job, o.finish_reason, &o);  // first: a caller that has the reply finds the line
    job->call->reply(packJsonValue(reply));
    end(job);
    return;
  }
  errors(job->backend, job->timed_out ? "timeout" : failureName(o.failure)).inc();
  if (o.failure == ChatFailure::kRejected) {
    settle(job, Outcome::kNeutral);  // the request's fault, not the backend's
    accessLog(*job, "rejected", &o);
    job->call->fail(ErrorCode::kInvalidArgument, o.message);
    end(job);
    return;
  }
  settle(job, Outcome::kFailure);
  job->last_error = spec.name + ": " + o.message;
  if (o.failure == ChatFailure::kRefused) {
    spdlog::error(
        "backend {} refused chat {} with HTTP {} ({}): counted as a failure of the backend; "
        "check its API key (api_key_env) and that it serves model '{}'",
        spec.name, job->call->id(), o.http_status,
        o.http_status == 404 ? "not found" : "not authorised", job->request.model);
  } else {
    spdlog::warn("chat {} on backend {} failed: {}", job->call->id(), spec.name, o.message);
  }
  bool retry = !job->forwarded && o.failure != ChatFailure::kBroken &&
               job->tried.size() < options_.max_tries && !job->call->done();
  if (retry) {
    dispatch(job);
    return;
  }
  accessLog(*job, job->timed_out ? "timeout" : failureName(o.failure), &o);
  if (job->forwarded) {
    job->call->fail(ErrorCode::kUnavailable,
                    "the stream broke after " + std::to_string(job->delivered) +
                        " bytes of output were delivered (not retried): " + job->last_error);
  } else {
    job->call->fail(ErrorCode::kUnavailable, job->last_error);
  }
  end(job);
}

std::vector<BackendView> Dispatcher::backends() const {
  std::vector<BackendView> out;
  for (MemberId id = 0; id < specs_.size(); ++id) {
    BackendView v = balancer_.view(id, specs_[id].name, specs_[id].max_conns);
    v.probe_failing = probe_down_[id];
    out.push_back(std::move(v));
  }
  return out;
}

Counter& Dispatcher::errors(MemberId backend, const char* kind) {
  return metrics_.counter("sb_infer_backend_errors_total", "Streams that failed, by kind",
                          {{"backend", specs_[backend].name}, {"kind", kind}});
}

void Dispatcher::settle(const JobPtr& job, Outcome outcome) {
  if (!job->running) return;
  job->running = false;
  backend_metrics_[job->backend].inflight->dec();
  balancer_.onFinish(job->backend, outcome);
  job->timer.cancel();
}

void Dispatcher::armTimer(const JobPtr& job, Millis after, std::string why) {
  // The timer is the job's: when it runs, the job (and we, who own it) are alive.
  job->timer = loop_.after(after, [this, raw = job.get(), after, why = std::move(why)] {
    auto it = jobs_.find(raw->id);
    if (it == jobs_.end() || !it->second->running) return;
    JobPtr j = it->second;
    j->timed_out = true;
    backends_[j->backend]->cancel(j->stream);
    ChatOutcome o;
    o.failure = j->forwarded ? ChatFailure::kBroken : ChatFailure::kRetryable;
    o.message = why + " within " + std::to_string(after.count()) + " ms";
    o.delivered = j->delivered;
    o.forwarded = j->forwarded;
    onEnd(j, o);
  });
}

}  // namespace sb::inference
