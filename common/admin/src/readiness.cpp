#include "sb/admin/readiness.h"

namespace sb::admin {

void Readiness::add(std::string name, Probe probe, bool required) {
  items_.push_back({std::move(name), std::move(probe), required});
}

void Readiness::stopping(std::string why) {
  if (stopping_.empty()) stopping_ = why.empty() ? "stopping" : std::move(why);
}

Readiness::Report Readiness::evaluate() const {
  Report r;
  if (!stopping_.empty()) {
    r.ready = false;
    r.checks.push_back({"shutdown", false, true, stopping_});
  }
  for (const auto& item : items_) {
    Check c;
    try {
      c = item.probe();
    } catch (const std::exception& e) {
      c = {false, std::string("check failed: ") + e.what()};
    }
    if (!c.ok && item.required) r.ready = false;
    r.checks.push_back({item.name, c.ok, item.required, std::move(c.detail)});
  }
  return r;
}

std::vector<std::string> missingChecks(const Readiness::Report& report) {
  std::vector<std::string> out;
  for (const auto& c : report.checks) {
    if (!c.ok && c.required) out.push_back(c.name + (c.detail.empty() ? "" : ": " + c.detail));
  }
  return out;
}

nlohmann::json reportJson(const Readiness::Report& report, bool verbose) {
  nlohmann::json j = {{"status", report.ready ? "ready" : "not ready"},
                      {"missing", missingChecks(report)}};
  if (verbose) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : report.checks) {
      checks.push_back(
          {{"name", c.name}, {"ok", c.ok}, {"required", c.required}, {"detail", c.detail}});
    }
    j["checks"] = std::move(checks);
  }
  return j;
}

}  // namespace sb::admin
