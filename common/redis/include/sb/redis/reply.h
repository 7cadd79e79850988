#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;

namespace sb::redis {

// An owned copy of a Redis reply (hiredis frees its own as soon as the callback returns).
struct Reply {
  enum class Type : uint8_t { kString, kStatus, kError, kInteger, kNil, kArray };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<Reply> elements;

  static Reply from(const redisReply& r);
  bool isError() const { return type == Type::kError; }
  // The first word of an error ("MOVED", "ASK", "NOSCRIPT", ...), empty otherwise.
  std::string_view errorCode() const;
};

}  // namespace sb::redis
