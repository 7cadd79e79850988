#pragma once

#include <string_view>

namespace sb::health {

// The status page (status_page.html, compiled in at build time): one self-contained HTML
// file that polls `status` and draws the suite.
std::string_view statusPage();

}  // namespace sb::health
