#pragma once

#include <cstdint>
#include <string_view>

namespace sb {

inline constexpr uint16_t kSlotCount = 16384;

// CRC16-XMODEM (poly 0x1021, init 0), the checksum Redis Cluster uses for key slots.
uint16_t crc16Xmodem(std::string_view data);

// The Redis Cluster slot of a key: CRC16 of the hash tag when the key has one (the text
// between the first '{' and the first '}' after it, if non-empty), else of the whole key,
// modulo 16384. 16384 = 2^14, so the modulo is `& 0x3FFF`. Every slot computation in
// Switchboard goes through this function.
uint16_t keySlot(std::string_view key);

// The part of the key that is hashed (the tag, or the whole key).
std::string_view hashTag(std::string_view key);

}  // namespace sb
