#include "sb/admin/backend_checks.h"

#include <memory>

namespace sb::admin {

namespace {

std::string describe(const BackendView& b) {
  std::string state = b.cooling_down    ? "cooling down after failures"
                      : b.probe_failing ? "failing its health probe"
                                        : "up";
  return state + ", " + std::to_string(b.inflight) + " of " + std::to_string(b.max_conns) +
         " in flight";
}

}  // namespace

void watchBackends(AdminPlane& admin, const std::string& up_gauge,
                   std::function<std::vector<BackendView>()> view) {
  auto shared = std::make_shared<std::function<std::vector<BackendView>()>>(std::move(view));
  admin.readiness().add("backends", [shared] {
    std::vector<BackendView> all = (*shared)();
    size_t up = 0;
    for (const auto& b : all) up += b.up() ? 1 : 0;
    std::string seen = std::to_string(up) + " of " + std::to_string(all.size()) + " up";
    return Check{up > 0, up > 0 ? seen : "no backend takes work (" + seen + ")"};
  });
  std::vector<BackendView> initial = (*shared)();
  for (size_t i = 0; i < initial.size(); ++i) {
    admin.readiness().add(
        std::string(kBackendCheckPrefix) + initial[i].name,
        [shared, i] {
          std::vector<BackendView> all = (*shared)();
          if (i >= all.size()) return Check{false, "gone"};
          return Check{all[i].up(), describe(all[i])};
        },
        false);
  }
  admin.onScrape([shared, name = up_gauge](MetricsRegistry& m) {
    for (const auto& b : (*shared)()) {
      m.gauge(name, "1 while the backend takes work (not cooling down, probe passing)",
              {{"backend", b.name}})
          .set(b.up() ? 1 : 0);
    }
  });
}

}  // namespace sb::admin
