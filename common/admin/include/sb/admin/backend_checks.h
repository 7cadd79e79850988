#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/admin/admin_plane.h"
#include "sb/policy/backend_view.h"

namespace sb::admin {

// The name of a backend's check is this prefix and the backend's name (sb-health reads it).
inline constexpr std::string_view kBackendCheckPrefix = "backend ";

// A worker in front of backends (LLM or embedding servers) is ready while at least one of
// them takes work. Adds the required check "backends", one informational check per backend
// ("backend NAME": up, cooling down or failing its probe, with its streams), which sb-health
// reads over the bus, and the gauge `up_gauge`{backend} (sb_infer_backend_up, ...).
void watchBackends(AdminPlane& admin, const std::string& up_gauge,
                   std::function<std::vector<BackendView>()> view);

}  // namespace sb::admin
