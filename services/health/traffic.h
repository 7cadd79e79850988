#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exposition.h"
#include "histogram_window.h"

namespace sb::health {

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0;  // milliseconds
};

struct ServiceTraffic {
  std::optional<double> request_rate;            // per second
  std::optional<double> error_rate;              // failed requests per second (CANCELLED excluded)
  std::map<std::string, double> errors_by_code;  // per second, every code but OK
  std::optional<Percentiles> latency_ms;
  std::optional<Percentiles> ttft_ms;  // time to first token, where the service streams tokens
};

// Request rate, errors by code, latency and time-to-first-token percentiles per service over
// a sliding window, from the expositions sb-health gathers every round: the routers'
// sb_router_requests_total, sb_router_responses_total and sb_router_request_duration_seconds
// (summed over routers), and the workers' sb_infer_backend_time_to_first_token_seconds (summed
// over backends and instances of a service).
class Traffic {
 public:
  explicit Traffic(int64_t window_ms) : window_ms_(window_ms) {}

  struct Input {
    std::string service;  // for worker expositions; empty for a router's
    std::vector<Family> families;
  };
  // One round's expositions (parsed once by the caller, for every window), at time `t` (ms).
  void add(TimePointMs t, const std::vector<Input>& inputs);
  ServiceTraffic of(const std::string& service) const;
  std::vector<std::string> services() const;

 private:
  struct Series {
    explicit Series(int64_t w) : requests(w), latency(w), ttft(w) {}
    CounterWindow requests;
    std::map<std::string, CounterWindow> responses;  // by code
    HistogramWindow latency;
    HistogramWindow ttft;
    bool has_ttft = false;
  };
  Series& series(const std::string& service);

  int64_t window_ms_;
  std::map<std::string, Series> by_service_;
};

}  // namespace sb::health
