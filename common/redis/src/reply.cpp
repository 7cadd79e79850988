#include "sb/redis/reply.h"

#include <hiredis/hiredis.h>

namespace sb::redis {

Reply Reply::from(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(from(*r.element[i]));
      break;
    default:
      out.type = Type::kNil;
  }
  return out;
}

std::string_view Reply::errorCode() const {
  if (type != Type::kError) return {};
  std::string_view s(str);
  return s.substr(0, s.find(' '));
}

}  // namespace sb::redis
