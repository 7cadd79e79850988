#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sb::sbctl {

// Renders router.status (as JSON) as aligned text tables: workers, services, counters.
std::string statusTable(const nlohmann::json& status);

}  // namespace sb::sbctl
