#pragma once

#include <string>
#include <string_view>

namespace sb::redis {

// The SHA-1 (lower-case hex) Redis names a Lua script by: what EVALSHA takes.
std::string scriptSha1(std::string_view script);

}  // namespace sb::redis
