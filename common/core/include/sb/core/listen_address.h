#pragma once

#include <cstdint>
#include <string>

namespace sb {

// "host:port", "[v6]:port" or ":port" (every interface) -> a numeric host and a port; false when
// `text` is not one of those. "localhost" reads as 127.0.0.1, "*" and "" as 0.0.0.0.
bool parseListenAddress(const std::string& text, std::string& host, uint16_t& port);

}  // namespace sb
