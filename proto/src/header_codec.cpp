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
  HeaderVisitor(const Limits& limits, Header& out) : limits_(limits), out_(out) {}

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
  size_t depth_ = 0;
  bool in_key_ = false;
  Key key_ = Key::kNone;
  uint32_t seen_ = 0;
};

}  // namespace

Status decodeHeader(std::string_view frame, const Limits& limits, Header& out) {
  out = Header{};
  if (frame.size() > limits.max_header_bytes) {
    return Status::error(ErrorCode::kResourceExhausted,
                         "header frame of " + std::to_string(frame.size()) +
                             " bytes exceeds the limit of " +
                             std::to_string(limits.max_header_bytes));
  }
  if (frame.empty()) return Status::error(ErrorCode::kInvalidArgument, "empty header frame");
  HeaderVisitor v(limits, out);
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

// msgpack-cxx's packer writes to anything with write(const char*, size_t).
struct StringSink {
  std::string& s;
  void write(const char* p, size_t n) { s.append(p, n); }
};

}  // namespace

void encodeHeaderInto(const Header& h, std::string& out) {
  StringSink sink{out};
  msgpack::packer<StringSink> pk(sink);
  bool scoped = isRequestScoped(h.kind);
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
