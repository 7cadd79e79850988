#include "sb/proto/body_fields.h"

#include <algorithm>

#include "sb/proto/body_codec.h"

namespace sb::proto {

namespace {

std::string quoted(std::string_view key) { return "'" + std::string(key) + "'"; }

}  // namespace

bool isUtf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte first, 0xC0/0xC1 (overlong), or above 0xF4
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;  // overlong
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool allStringsUtf8(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::STR:
      return isUtf8(std::string_view(o.via.str.ptr, o.via.str.size));
    case msgpack::type::ARRAY:
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        if (!allStringsUtf8(o.via.array.ptr[i])) return false;
      }
      return true;
    case msgpack::type::MAP:
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        if (!allStringsUtf8(o.via.map.ptr[i].key) || !allStringsUtf8(o.via.map.ptr[i].val))
          return false;
      }
      return true;
    default:
      return true;
  }
}

BodyFields::BodyFields(const msgpack::object& body, bool nil_is_empty) {
  if (body.is_nil() && nil_is_empty) return;
  if (body.type != msgpack::type::MAP) {
    fail("the body must be a map");
    return;
  }
  map_ = &body;
  const auto& m = body.via.map;
  for (uint32_t i = 0; i < m.size; ++i) {
    const msgpack::object& k = m.ptr[i].key;
    if (k.type != msgpack::type::STR) {
      fail("the body's keys must be strings");
      return;
    }
    std::string_view name(k.via.str.ptr, k.via.str.size);
    // Bodies are small maps: a quadratic check is cheaper than a set for a dozen keys. Past
    // that, sort a copy of the views.
    if (m.size <= 32) {
      for (uint32_t j = 0; j < i; ++j) {
        const msgpack::object& prev = m.ptr[j].key;
        if (std::string_view(prev.via.str.ptr, prev.via.str.size) == name) {
          fail("key " + quoted(name) + " appears twice");
          return;
        }
      }
    }
  }
  if (m.size > 32) {
    std::vector<std::string_view> names;
    names.reserve(m.size);
    for (uint32_t i = 0; i < m.size; ++i)
      names.emplace_back(m.ptr[i].key.via.str.ptr, m.ptr[i].key.via.str.size);
    std::sort(names.begin(), names.end());
    for (size_t i = 1; i < names.size(); ++i) {
      if (names[i] == names[i - 1]) {
        fail("key " + quoted(names[i]) + " appears twice");
        return;
      }
    }
  }
}

void BodyFields::fail(std::string message) {
  if (status_.ok()) status_ = Status::error(ErrorCode::kInvalidArgument, std::move(message));
}

const msgpack::object* BodyFields::raw(std::string_view key) const {
  return map_ ? findKey(*map_, key) : nullptr;
}

void BodyFields::str(std::string_view key, std::string& out, bool& present, size_t max_bytes,
                     bool required) {
  const msgpack::object* v = raw(key);
  present = v && !v->is_nil();
  if (!present) {
    if (required) fail(quoted(key) + " is required");
    return;
  }
  if (v->type != msgpack::type::STR || v->via.str.size > max_bytes) {
    return fail(quoted(key) + " must be a string of at most " + std::to_string(max_bytes) +
                " bytes");
  }
  std::string_view s(v->via.str.ptr, v->via.str.size);
  if (!isUtf8(s)) return fail(quoted(key) + " is not valid UTF-8");
  out.assign(s);
}

void BodyFields::uint(std::string_view key, uint64_t& out, bool& present, uint64_t min,
                      uint64_t max) {
  const msgpack::object* v = raw(key);
  present = v && !v->is_nil();
  if (!present) return;
  if (v->type != msgpack::type::POSITIVE_INTEGER || v->via.u64 < min || v->via.u64 > max) {
    return fail(quoted(key) + " must be an integer from " + std::to_string(min) + " to " +
                std::to_string(max));
  }
  out = v->via.u64;
}

void BodyFields::integer(std::string_view key, int64_t& out, bool& present) {
  const msgpack::object* v = raw(key);
  present = v && !v->is_nil();
  if (!present) return;
  if (v->type == msgpack::type::POSITIVE_INTEGER && v->via.u64 <= INT64_MAX) {
    out = static_cast<int64_t>(v->via.u64);
  } else if (v->type == msgpack::type::NEGATIVE_INTEGER) {
    out = v->via.i64;
  } else {
    fail(quoted(key) + " must be an integer");
  }
}

void BodyFields::boolean(std::string_view key, bool& out, bool& present) {
  const msgpack::object* v = raw(key);
  present = v && !v->is_nil();
  if (!present) return;
  if (v->type != msgpack::type::BOOLEAN) return fail(quoted(key) + " must be true or false");
  out = v->via.boolean;
}

void BodyFields::strings(std::string_view key, std::vector<std::string>& out, bool& present,
                         size_t max_items, size_t max_bytes) {
  const msgpack::object* v = raw(key);
  present = v && !v->is_nil();
  if (!present) return;
  std::string why = quoted(key) + " must be an array of at most " + std::to_string(max_items) +
                    " UTF-8 strings of at most " + std::to_string(max_bytes) + " bytes";
  if (v->type != msgpack::type::ARRAY || v->via.array.size > max_items) return fail(why);
  std::vector<std::string> items;
  items.reserve(v->via.array.size);
  for (uint32_t i = 0; i < v->via.array.size; ++i) {
    const msgpack::object& e = v->via.array.ptr[i];
    if (e.type != msgpack::type::STR || e.via.str.size > max_bytes) return fail(why);
    std::string_view s(e.via.str.ptr, e.via.str.size);
    if (!isUtf8(s)) return fail(why);
    items.emplace_back(s);
  }
  out = std::move(items);
}

void BodyFields::packed(std::string_view key, std::string& out, size_t max_bytes) {
  const msgpack::object* v = raw(key);
  if (!v) return;
  if (!allStringsUtf8(*v)) return fail(quoted(key) + " holds a string that is not valid UTF-8");
  out = packBody(*v);
  if (out.size() > max_bytes) {
    fail(quoted(key) + " is " + std::to_string(out.size()) + " bytes encoded; the limit is " +
         std::to_string(max_bytes));
  }
}

}  // namespace sb::proto
