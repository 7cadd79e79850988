#pragma once

#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat_backend.h"
#include "sb/bus/worker.h"
#include "sb/metrics/gen_ai.h"
#include "sb/metrics/metrics.h"
#include "sb/policy/backend_view.h"
#include "sb/policy/balancer.h"

namespace sb::inference {

struct BackendSpec {
  std::string name;                 // for logs and replies
  std::vector<std::string> models;  // served; empty = any
  uint32_t weight = 1;
  uint32_t max_conns = 8;         // streams at once
  bool backup = false;            // used only when no primary can take the request
  std::string provider = "demo";  // gen_ai_provider_name: "openai" for OpenAI-compatible servers
};

struct DispatchOptions {
  Millis first_token_timeout{60000};  // request sent -> first token
  Millis idle_timeout{30000};         // longest gap between tokens
  uint32_t max_tries = 2;             // backends tried before the first token
  FailurePolicy failure;              // passive health per backend
  Millis probe_interval{0};           // active health checks; 0: none
};

// The `chat` op: picks a backend for the request's model by least connection (the router's
// balancer code), streams its tokens back as chunks, ends with finish reason and usage.
// Before the first token a connect failure, 5xx, 408 or 429 moves the request to another
// backend (bounded); after it, never: the error says how much was delivered. A 401, 403 or
// 404 counts against the backend too (its key or its models are wrong) and is retried
// elsewhere; other 4xx go back as INVALID_ARGUMENT and do not count against the backend. A
// cancel stops the backend. Chunks carry choice 0's text, and every choice whole when a
// chunk holds more (tool calls, reasoning, n > 1, logprobs, refusal, finish reasons).
class Dispatcher {
 public:
  Dispatcher(EventLoop& loop, DispatchOptions options);
  ~Dispatcher();

  void addBackend(BackendSpec spec, std::unique_ptr<ChatBackend> backend);
  // Starts the periodic active probes (with probe_interval set): a backend failing its probe
  // takes no new streams until it passes one.
  void startProbes();
  void chat(const CallPtr& call);
  // Per backend, Prometheus text: in flight, requests, tokens (rate() gives tokens/s), time to
  // first token, errors by kind.
  std::string metricsText() const { return metrics_.render(); }

  uint32_t capacity() const;  // the sum of the backends' max_conns
  std::vector<BackendView> backends() const;
  std::vector<std::string> models() const;  // every model served; empty if one serves any

 private:
  struct Job;
  using JobPtr = std::shared_ptr<Job>;
  void dispatch(const JobPtr& job);
  void onDelta(const JobPtr& job, const ChatDelta& delta);
  // One line per finished request: backend, model, status, tokens, time to first token.
  // And the OpenTelemetry gen-AI client metrics: token usage by type, operation duration.
  void accessLog(const Job& job, std::string_view status, const ChatOutcome* outcome);
  void onEnd(const JobPtr& job, const ChatOutcome& outcome);
  // The call has ended: the job leaves the table.
  void end(const JobPtr& job);
  // Ends the running attempt: counts it for the backend and clears its timers.
  void settle(const JobPtr& job, Outcome outcome);
  void armTimer(const JobPtr& job, Millis after, std::string why);
  Counter& errors(MemberId backend, const char* kind);
  void probeAll();

  EventLoop& loop_;
  DispatchOptions options_;
  LeastConnBalancer balancer_;
  std::vector<BackendSpec> specs_;
  std::vector<std::unique_ptr<ChatBackend>> backends_;
  MetricsRegistry metrics_;
  // Each backend's series, made once: the per-token path only bumps them.
  struct BackendMetrics {
    Gauge* inflight;
    Counter* requests;
    Counter* tokens;
    Histogram* first_token;
  };
  std::vector<BackendMetrics> backend_metrics_;
  std::vector<bool> probe_down_;
  BoundedLabel model_label_;
  LoopHandle probe_timer_;
  // Every running request: the dispatcher owns them, so a backend's callbacks and a call's
  // cancel find a job by id, and the destructor can detach every call it still holds.
  std::unordered_map<uint64_t, JobPtr> jobs_;
  uint64_t next_job_ = 1;
};

}  // namespace sb::inference
