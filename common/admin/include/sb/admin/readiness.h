#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sb::admin {

struct Check {
  bool ok = true;
  std::string detail;  // why not, or what was seen ("registered with 2 of 2 routers")
};

// What one process needs before it takes traffic, for /readyz (Kubernetes readiness) and the
// bus's `worker.ready`: named checks that read state the process already keeps (a router link,
// a Redis client's health, backends' cool-downs), never a blocking call. A check that is not
// `required` is reported but does not make the process unready (a cache that serves without
// its Redis). Once stopping (SIGTERM, a drain), the process is unready whatever the checks say,
// so a load balancer stops sending before the process stops serving.
class Readiness {
 public:
  using Probe = std::function<Check()>;
  struct Entry {
    std::string name;
    bool ok = true;
    bool required = true;
    std::string detail;
  };
  struct Report {
    bool ready = true;
    std::vector<Entry> checks;
  };

  void add(std::string name, Probe probe, bool required = true);
  void stopping(std::string why);
  bool isStopping() const { return !stopping_.empty(); }
  Report evaluate() const;

 private:
  struct Item {
    std::string name;
    Probe probe;
    bool required;
  };
  std::vector<Item> items_;
  std::string stopping_;
};

// "name: detail" of every required check that failed.
std::vector<std::string> missingChecks(const Readiness::Report& report);

// {"status": "ready" | "not ready", "missing": ["name: detail", ...]}, and with `verbose`
// every check: "checks": [{"name", "ok", "required", "detail"}].
nlohmann::json reportJson(const Readiness::Report& report, bool verbose);

}  // namespace sb::admin
