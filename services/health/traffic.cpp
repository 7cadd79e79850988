#include "traffic.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace sb::health {

namespace {

double number(const std::string& text) {
  if (text == "+Inf" || text == "Inf") return INFINITY;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  return std::isfinite(v) ? v : 0;
}

std::string label(const Sample& s, const std::string& name) {
  for (const auto& [k, v] : s.labels)
    if (k == name) return v;
  return {};
}

// Sums histogram samples into one snapshot per key (a label's value, or one key for all).
struct HistogramSum {
  std::map<double, double> buckets;
  double sum = 0, count = 0;
};

void addHistogram(const Family& f, const std::string& key_label, const std::string& fixed_key,
                  std::map<std::string, HistogramSum>& out) {
  for (const Sample& s : f.samples) {
    std::string key = fixed_key.empty() ? label(s, key_label) : fixed_key;
    if (key.empty()) continue;
    HistogramSum& h = out[key];
    if (s.name == f.name + "_bucket") {
      h.buckets[number(label(s, "le"))] += number(s.value);
    } else if (s.name == f.name + "_sum") {
      h.sum += number(s.value);
    } else if (s.name == f.name + "_count") {
      h.count += number(s.value);
    }
  }
}

HistogramSnapshot snapshot(TimePointMs t, const HistogramSum& h) {
  HistogramSnapshot s;
  s.t = t;
  s.buckets.assign(h.buckets.begin(), h.buckets.end());
  s.sum = h.sum;
  s.count = h.count;
  return s;
}

std::optional<Percentiles> percentiles(const HistogramWindow& w) {
  auto p50 = w.quantile(0.5), p90 = w.quantile(0.9), p99 = w.quantile(0.99);
  if (!p50 || !p90 || !p99) return std::nullopt;
  return Percentiles{*p50 * 1000, *p90 * 1000, *p99 * 1000};
}

}  // namespace

Traffic::Series& Traffic::series(const std::string& service) {
  return by_service_.try_emplace(service, window_ms_).first->second;
}

void Traffic::add(TimePointMs t, const std::vector<Input>& inputs) {
  std::map<std::string, double> requests;
  std::map<std::string, std::map<std::string, double>> responses;
  std::map<std::string, HistogramSum> latency, ttft;
  for (const Input& in : inputs) {
    for (const Family& f : in.families) {
      if (in.service.empty()) {
        if (f.name == "sb_router_requests_total") {
          for (const Sample& s : f.samples) requests[label(s, "service")] += number(s.value);
        } else if (f.name == "sb_router_responses_total") {
          for (const Sample& s : f.samples)
            responses[label(s, "service")][label(s, "code")] += number(s.value);
        } else if (f.name == "sb_router_request_duration_seconds") {
          addHistogram(f, "service", "", latency);
        }
      } else if (f.name == "sb_infer_backend_time_to_first_token_seconds") {
        addHistogram(f, "", in.service, ttft);
      }
    }
  }
  for (const auto& [service, n] : requests) {
    if (service.empty()) continue;
    Series& s = series(service);
    s.requests.add(t, n);
    for (const auto& [code, v] : responses[service]) {
      s.responses.try_emplace(code, window_ms_).first->second.add(t, v);
    }
  }
  for (const auto& [service, h] : latency) series(service).latency.add(snapshot(t, h));
  for (const auto& [service, h] : ttft) {
    Series& s = series(service);
    s.has_ttft = true;
    s.ttft.add(snapshot(t, h));
  }
  for (auto& [name, s] : by_service_) {
    s.requests.advanceTo(t);
    for (auto& [code, w] : s.responses) w.advanceTo(t);
    s.latency.advanceTo(t);
    s.ttft.advanceTo(t);
  }
}

ServiceTraffic Traffic::of(const std::string& service) const {
  ServiceTraffic out;
  auto it = by_service_.find(service);
  if (it == by_service_.end()) return out;
  const Series& s = it->second;
  out.request_rate = s.requests.rate();
  if (out.request_rate) out.error_rate = 0.0;
  for (const auto& [code, w] : s.responses) {
    if (code == "OK") continue;
    auto r = w.rate();
    if (!r) continue;
    out.errors_by_code[code] = *r;
    if (code != "CANCELLED") out.error_rate = out.error_rate.value_or(0) + *r;
  }
  out.latency_ms = percentiles(s.latency);
  if (s.has_ttft) out.ttft_ms = percentiles(s.ttft);
  return out;
}

std::vector<std::string> Traffic::services() const {
  std::vector<std::string> out;
  for (const auto& [name, s] : by_service_) out.push_back(name);
  return out;
}

}  // namespace sb::health
