#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sb/proto/header.h"
#include "sb/proto/status.h"

namespace sb::proto {

// The body of a worker's `ready` (PROTOCOL.md 5.1): who it is and what it takes.
struct Announcement {
  std::string name;                 // unique among live workers
  std::string service;              // "svc"
  std::vector<std::string> models;  // route tags; empty = any
  uint32_t capacity = 1;            // "cap"
  uint32_t weight = 1;              // "w"
  bool backup = false;
  uint32_t heartbeat_ms = 0;  // "hb"; 0: the router's
  uint32_t liveness = 0;      // 0: the router's
  uint64_t instance = 0;      // "inst": one value per process run; 0: not given
};

inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxModels = 64;

std::string encodeAnnouncement(const Announcement& a);
// Bounded and non-throwing; INVALID_ARGUMENT naming the field that is missing or wrong.
Status decodeAnnouncement(std::string_view body, const Limits& limits, Announcement& out);

}  // namespace sb::proto
