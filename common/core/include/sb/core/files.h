#pragma once

#include <string>

namespace sb {

// The whole file in `out`; false if it cannot be opened.
bool readWholeFile(const std::string& path, std::string& out);

// Logs a warning when every user on this host may read `path`, which holds `what` (a secret
// key): ssh refuses such keys; a warning here, since a group-readable Kubernetes Secret is fine.
void warnIfWorldReadable(const std::string& path, const char* what);

}  // namespace sb
