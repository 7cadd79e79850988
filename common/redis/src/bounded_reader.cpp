#include "sb/redis/bounded_reader.h"

#include <hiredis/hiredis.h>

#include <mutex>

namespace sb::redis {

namespace {

// hiredis's own reply builders, with the array builder checked first. Every reader starts
// with the same default table, so one copy of it serves them all.
redisReplyObjectFunctions bounded;
void* (*default_create_array)(const redisReadTask*, int) = nullptr;

void* createBoundedArray(const redisReadTask* task, int elements) {
  if (elements > 0 && static_cast<size_t>(elements) > kMaxReplyElements) return nullptr;
  return default_create_array(task, elements);
}

}  // namespace

void boundReader(redisReader* reader) {
  if (!reader || !reader->fn) return;
  static std::once_flag once;
  std::call_once(once, [reader] {
    bounded = *reader->fn;
    default_create_array = bounded.createArray;
    bounded.createArray = &createBoundedArray;
  });
  reader->fn = &bounded;
}

}  // namespace sb::redis
