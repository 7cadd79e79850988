#include "sb/proto/header_codec.h"

#include <msgpack.hpp>
#include <msgpack/v2/null_visitor.hpp>

namespace sb::proto {

std::string_view kindName(Kind kind) {
  switch (kind) {
    case Kind::kRequest:
      return "request";
    case Kind::kChunk:
      return "chunk";
    case Kind::kReply:
      return "reply";
    case Kind::kError:
      return "error";
    case Kind::kCancel:
      return "cancel";
    case Kind::kReady:
      return "ready";
    case Kind::kHeartbeat:
      return "heartbeat";
    case Kind::kDrain:
      return "drain";
    case Kind::kBye:
      return "bye";
  }
  return "unknown";
}

namespace {

enum class Key : uint8_t {
  kNone,
  kUnknown,
  kV,
  kK,
  kId,
  kSvc,
  kOp,
  kM,
  kTo,
  kDl,
  kEc,
  kEm,
  kIdem,
  kSeq
};

Key keyOf(std::string_view k) {
  // Short keys: a switch on length keeps this cheap on the router's hot path.
  switch (k.size()) {
    case 1:
      if (k[0] == 'v') return Key::kV;
      if (k[0] == 'k') return Key::kK;
      if (k[0] == 'm') return Key::kM;
      return Key::kUnknown;
    case 2:
      if (k == "id") return Key::kId;
      if (k == "op") return Key::kOp;
      if (k == "to") return Key::kTo;
      if (k == "dl") return Key::kDl;
      if (k == "ec") return Key::kEc;
      if (k == "em") return Key::kEm;
      return Key::kUnknown;
    case 3:
      if (k == "svc") return Key::kSvc;
      if (k == "seq") return Key::kSeq;
      return Key::kUnknown;
    case 4:
      return k == "idem" ? Key::kIdem : Key::kUnknown;
    default:
      return Key::kUnknown;
  }
}

const char* keyName(Key k) {
  switch (k) {
    case Key::kV:
      return "v";
    case Key::kK:
      return "k";
    case Key::kId:
      return "id";
    case Key::kSvc:
      return "svc";
    case Key::kOp:
      return "op";
    case Key::kM:
      return "m";
    case Key::kTo:
      return "to";
    case Key::kDl:
      return "dl";
    case Key::kEc:
      return "ec";
    case Key::kEm:
      return "em";
    case Key::kIdem:
      return "idem";
    case Key::kSeq:
      return "seq";
    default:
      return "?";
  }
}

// A SAX visitor over the header map: no allocation, views into the frame, bounded depth and
// container sizes. Returning false stops the parser; `error` then says why.
class HeaderVisitor : public msgpack::null_visitor {
 public:
  HeaderVisitor(const Limits& limits, Header& out, const char* base)
      : limits_(limits), out_(out), base_(base) {}

  const char* error = nullptr;
  Key bad_key = Key::kNone;
  bool saw_version = false;
  bool saw_kind = false;
  bool saw_id = false;
  uint64_t raw_kind = 0;

  bool visit_nil() { return scalar(); }
  bool visit_boolean(bool v) {
    if (depth_ == 0) return fail("header is not a msgpack map");
    if (!topValue()) return true;
    if (key_ == Key::kIdem) {
      out_.idempotent = v;
      return true;
    }
    return typeError();
  }
  bool visit_positive_integer(uint64_t v) {
    if (depth_ == 0) return fail("header is not a msgpack map");
    if (!topValue()) return true;
    switch (key_) {
      case Key::kV:
        saw_version = true;
        out_.version = v > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v);
        return true;
      case Key::kK:
        saw_kind = true;
        raw_kind = v;
        return true;
      case Key::kId:
        saw_id = true;
        out_.id = v;
        return true;
      case Key::kDl:
        out_.deadline_ms = v < kMaxDeadlineMs ? v : kMaxDeadlineMs;
        return true;
      case Key::kEc:
        out_.error = errorCodeFromNumber(v);
        return true;
      case Key::kSeq:
        out_.seq = v;
        return true;
      case Key::kUnknown:
        return true;
      default:
        return typeError();
    }
  }
  bool visit_negative_integer(int64_t) { return scalar(); }
  bool visit_float32(float) { return scalar(); }
  bool visit_float64(double) { return scalar(); }
  bool visit_str(const char* p, uint32_t size) {
    if (depth_ == 0) return fail("header is not a msgpack map");
    if (size > limits_.max_string_bytes) return fail("header string longer than the limit");
    if (depth_ == 1 && in_key_) {
      key_ = keyOf(std::string_view(p, size));
      if (key_ != Key::kUnknown) {
        uint32_t bit = 1u << static_cast<int>(key_);
        if (seen_ & bit) return fail("duplicate header key");
        seen_ |= bit;
      }
      // The parser hands out views into the frame: the value follows the key's bytes.
      if (key_ == Key::kDl) out_.deadline_at = static_cast<uint32_t>(p + size - base_);
      return true;
    }
    if (!topValue()) return true;
    std::string_view s(p, size);
    switch (key_) {
      case Key::kSvc:
        out_.service = s;
        return true;
      case Key::kOp:
        out_.op = s;
        return true;
      case Key::kM:
        out_.model = s;
        return true;
      case Key::kTo:
        out_.target = s;
        return true;
      case Key::kEm:
        out_.message = s;
        return true;
      case Key::kUnknown:
        return true;
      default:
        return typeError();
    }
  }
  bool visit_bin(const char*, uint32_t size) {
    if (size > limits_.max_string_bytes) return fail("header string longer than the limit");
    return scalar();
  }
  bool visit_ext(const char*, uint32_t size) {
    if (size > limits_.max_string_bytes) return fail("header string longer than the limit");
    return scalar();
  }
  bool start_array(uint32_t n) {
    if (depth_ == 0) return fail("header is not a msgpack map");
    if (depth_ == 1 && in_key_) return fail("header keys must be strings");
    if (depth_ == 1 && key_ != Key::kUnknown) return typeError();
    if (n > limits_.max_entries) return fail("header container has too many entries");
    return enter();
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool start_map(uint32_t n) {
    if (depth_ == 1 && in_key_) return fail("header keys must be strings");
    if (depth_ == 1 && key_ != Key::kUnknown) return typeError();
    if (n > limits_.max_entries) return fail("header container has too many entries");
    return enter();
  }
  bool start_map_key() {
    if (depth_ == 1) {
      in_key_ = true;
      key_ = Key::kNone;
    }
    return true;
  }
  bool end_map_key() {
    if (depth_ == 1) {
      if (key_ == Key::kNone) return fail("header keys must be strings");
      in_key_ = false;
    }
    return true;
  }
  bool end_map() {
    --depth_;
    return true;
  }
  void parse_error(size_t, size_t) {
    if (!error) error = "header is not valid msgpack";
  }
  void insufficient_bytes(size_t, size_t) {
    if (!error) error = "header is truncated";
  }

 private:
  bool fail(const char* why) {
    error = why;
    return false;
  }
  bool typeError() {
    bad_key = key_;
    return fail("header key has the wrong type");
  }
  bool enter() {
    if (++depth_ > limits_.max_depth) return fail("header nesting deeper than the limit");
    return true;
  }
  // True when the current value belongs to a top-level key (so it is one we may capture).
  bool topValue() const { return depth_ == 1 && !in_key_; }
  bool scalar() {
    if (depth_ == 0) return fail("header is not a msgpack map");
    if (depth_ == 1 && in_key_) return fail("header keys must be strings");
    if (topValue() && key_ != Key::kUnknown) return typeError();
    return true;
  }

  const Limits& limits_;
  Header& out_;
  const char* base_;
  size_t depth_ = 0;
  bool in_key_ = false;
  Key key_ = Key::kNone;
  uint32_t seen_ = 0;
};

}  // namespace

Status decodeHeader(std::string_view frame, const Limits& limits, Header& out) {
  out = Header{};
  if (frame.size() > limits.max_header_bytes) {
    return Status::error(ErrorCode::kInvalidArgument, "header frame of " +
                                                          std::to_string(frame.size()) +
                                                          " bytes exceeds the limit of " +
                                                          std::to_string(limits.max_header_bytes));
  }
  if (frame.empty()) return Status::error(ErrorCode::kInvalidArgument, "empty header frame");
  HeaderVisitor v(limits, out, frame.data());
  size_t off = 0;
  bool parsed = msgpack::parse(frame.data(), frame.size(), off, v);
  if (!parsed || v.error) {
    std::string msg = v.error ? v.error : "header is not valid msgpack";
    if (v.bad_key != Key::kNone) msg += std::string(" ('") + keyName(v.bad_key) + "')";
    return Status::error(ErrorCode::kInvalidArgument, msg);
  }
  if (off != frame.size()) {
    return Status::error(ErrorCode::kInvalidArgument, "trailing bytes after the header map");
  }
  if (!v.saw_version)
    return Status::error(ErrorCode::kInvalidArgument, "header has no version ('v')");
  if (out.version != kProtocolVersion) {
    return Status::error(ErrorCode::kInvalidArgument,
                         "unsupported protocol version " + std::to_string(out.version) +
                             " (this peer speaks " + std::to_string(kProtocolVersion) + ")");
  }
  if (!v.saw_kind) return Status::error(ErrorCode::kInvalidArgument, "header has no kind ('k')");
  if (v.raw_kind < 1 || v.raw_kind > 9) {
    return Status::error(ErrorCode::kInvalidArgument,
                         "unknown message kind " + std::to_string(v.raw_kind));
  }
  out.kind = static_cast<Kind>(v.raw_kind);
  if (isRequestScoped(out.kind) && !v.saw_id) {
    return Status::error(ErrorCode::kInvalidArgument, "header has no request id ('id')");
  }
  if (out.kind == Kind::kRequest && (out.service.empty() || out.op.empty())) {
    return Status::error(ErrorCode::kInvalidArgument, "request header needs 'svc' and 'op'");
  }
  return Status::okStatus();
}

namespace {

// Finds a top-level "id" holding an unsigned integer and ignores everything else that is
// well-formed msgpack: a header with a wrong type elsewhere, a wrong version or an unknown
// kind still names its request.
class IdVisitor : public msgpack::null_visitor {
 public:
  explicit IdVisitor(const Limits& limits) : limits_(limits) {}
  std::optional<uint64_t> id;

  bool visit_str(const char* p, uint32_t size) {
    if (size > limits_.max_string_bytes) return false;
    if (depth_ == 1 && in_key_) is_id_ = std::string_view(p, size) == "id";
    return true;
  }
  bool visit_positive_integer(uint64_t v) {
    if (depth_ == 1 && !in_key_ && is_id_) id = v;
    return true;
  }
  bool visit_bin(const char*, uint32_t size) { return size <= limits_.max_string_bytes; }
  bool visit_ext(const char*, uint32_t size) { return size <= limits_.max_string_bytes; }
  bool start_array(uint32_t n) { return enter(n); }
  bool end_array() {
    --depth_;
    return true;
  }
  bool start_map(uint32_t n) { return enter(n); }
  bool start_map_key() {
    if (depth_ == 1) {
      in_key_ = true;
      is_id_ = false;
    }
    return true;
  }
  bool end_map_key() {
    if (depth_ == 1) in_key_ = false;
    return true;
  }
  bool end_map() {
    --depth_;
    return true;
  }
  void parse_error(size_t, size_t) {}
  void insufficient_bytes(size_t, size_t) {}

 private:
  bool enter(uint32_t n) { return n <= limits_.max_entries && ++depth_ <= limits_.max_depth; }
  const Limits& limits_;
  size_t depth_ = 0;
  bool in_key_ = false;
  bool is_id_ = false;
};

}  // namespace

std::optional<uint64_t> peekRequestId(std::string_view frame, const Limits& limits) {
  if (frame.empty() || frame.size() > limits.max_header_bytes) return std::nullopt;
  auto first = static_cast<unsigned char>(frame[0]);
  bool is_map = (first >= 0x80 && first <= 0x8f) || first == 0xde || first == 0xdf;
  if (!is_map) return std::nullopt;
  IdVisitor v(limits);
  size_t off = 0;
  // A parse that stops early (bad bytes later in the frame) still keeps an id read before.
  (void)msgpack::parse(frame.data(), frame.size(), off, v);
  return v.id;
}

bool patchDeadline(char* frame, size_t size, uint32_t at, uint64_t ms) {
  if (at == 0 || at >= size) return false;
  auto* p = reinterpret_cast<unsigned char*>(frame + at);
  size_t left = size - at;
  auto put = [&](size_t width) {
    if (left < 1 + width) return false;
    for (size_t i = 0; i < width; ++i)
      p[1 + i] = static_cast<unsigned char>(ms >> (8 * (width - 1 - i)));
    return true;
  };
  if (p[0] <= 0x7f) {  // positive fixint
    if (ms > 0x7f) return false;
    p[0] = static_cast<unsigned char>(ms);
    return true;
  }
  switch (p[0]) {
    case 0xcc:
      return ms <= 0xff && put(1);
    case 0xcd:
      return ms <= 0xffff && put(2);
    case 0xce:
      return ms <= 0xffffffffULL && put(4);
    case 0xcf:
      return put(8);
    default:
      return false;
  }
}

std::string widenDeadline(std::string_view frame, uint32_t at) {
  if (at == 0 || at >= frame.size()) return std::string(frame);
  auto tag = static_cast<unsigned char>(frame[at]);
  size_t old_len;
  uint64_t value = 0;
  if (tag <= 0x7f) {
    old_len = 1;
    value = tag;
  } else if (tag >= 0xcc && tag <= 0xcf) {
    old_len = 1 + (size_t{1} << (tag - 0xcc));  // 2, 3, 5 or 9 bytes
    if (at + old_len > frame.size()) return std::string(frame);
    for (size_t i = 1; i < old_len; ++i)
      value = (value << 8) | static_cast<unsigned char>(frame[at + i]);
  } else {
    return std::string(frame);
  }
  std::string out(frame.substr(0, at));
  out.push_back(static_cast<char>(0xcf));
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
  out.append(frame.substr(at + old_len));
  return out;
}

std::string withDeadline(std::string_view frame, uint64_t ms) {
  // The map's entry count is in its first bytes: a fixmap's count goes up by one (or the map
  // becomes a map16); map16 and map32 counts are big-endian.
  std::string out;
  out.reserve(frame.size() + 16);
  auto first = static_cast<unsigned char>(frame.empty() ? 0 : frame[0]);
  size_t header_len;
  uint32_t count;
  if (first >= 0x80 && first <= 0x8f) {
    header_len = 1;
    count = first & 0x0f;
  } else if (first == 0xde && frame.size() >= 3) {
    header_len = 3;
    count = (static_cast<unsigned char>(frame[1]) << 8) | static_cast<unsigned char>(frame[2]);
  } else if (first == 0xdf && frame.size() >= 5) {
    header_len = 5;
    count = 0;
    for (int i = 1; i <= 4; ++i) count = (count << 8) | static_cast<unsigned char>(frame[i]);
  } else {
    return std::string(frame);  // not a map header we wrote or accepted: leave it
  }
  ++count;
  if (count <= 15) {
    out.push_back(static_cast<char>(0x80 | count));
  } else if (count <= 0xffff) {
    out.push_back(static_cast<char>(0xde));
    out.push_back(static_cast<char>(count >> 8));
    out.push_back(static_cast<char>(count & 0xff));
  } else {
    out.push_back(static_cast<char>(0xdf));
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(count >> (8 * i)));
  }
  out.append(frame.substr(header_len));
  out.append(
      "\xa2"
      "dl",
      3);
  out.push_back(static_cast<char>(0xcf));
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(ms >> (8 * i)));
  return out;
}

namespace {

// msgpack-cxx's packer writes to anything with write(const char*, size_t).
struct StringSink {
  std::string& s;
  void write(const char* p, size_t n) { s.append(p, n); }
};

}  // namespace

void encodeHeaderInto(const Header& h, std::string& out) {
  StringSink sink{out};
  msgpack::packer<StringSink> pk(sink);
  // A router-level kind carries an id only when it answers one request (a draining router's
  // `drain` refusal, PROTOCOL.md 4.5).
  bool scoped = isRequestScoped(h.kind) || h.id != 0;
  uint32_t n = 2 + (scoped ? 1 : 0) + !h.service.empty() + !h.op.empty() + !h.model.empty() +
               !h.target.empty() + (h.deadline_ms != 0) + (h.kind == Kind::kError) +
               !h.message.empty() + h.idempotent + (h.seq != 0);
  pk.pack_map(n);
  pk.pack("v");
  pk.pack(h.version);
  pk.pack("k");
  pk.pack(static_cast<uint32_t>(h.kind));
  if (scoped) {
    pk.pack("id");
    pk.pack(h.id);
  }
  auto str = [&](const char* key, std::string_view v) {
    if (v.empty()) return;
    pk.pack(key);
    pk.pack_str(static_cast<uint32_t>(v.size()));
    pk.pack_str_body(v.data(), static_cast<uint32_t>(v.size()));
  };
  str("svc", h.service);
  str("op", h.op);
  str("m", h.model);
  str("to", h.target);
  if (h.deadline_ms != 0) {
    pk.pack("dl");
    pk.pack(h.deadline_ms);
  }
  if (h.kind == Kind::kError) {
    pk.pack("ec");
    pk.pack(static_cast<uint32_t>(h.error));
  }
  str("em", h.message);
  if (h.idempotent) {
    pk.pack("idem");
    pk.pack(true);
  }
  if (h.seq != 0) {
    pk.pack("seq");
    pk.pack(h.seq);
  }
}

std::string encodeHeader(const Header& header) {
  std::string out;
  out.reserve(64);
  encodeHeaderInto(header, out);
  return out;
}

}  // namespace sb::proto
