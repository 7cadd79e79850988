#include "demo_backend.h"

#include <algorithm>
#include <array>

namespace sb::inference {

namespace {

constexpr std::array<const char*, 24> kWords = {
    "the",  "quick", "model",  "streams", "tokens",  "through", "a",    "router",
    "to",   "every", "client", "that",    "asks",    "while",   "many", "workers",
    "wait", "for",   "work",   "and",     "nothing", "is",      "lost", "here"};

// FNV-1a: a stable seed from the request text.
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// The words of the messages' contents: the prompt's "tokens", for usage.
int64_t countWords(const nlohmann::json& messages) {
  int64_t n = 0;
  if (!messages.is_array()) return 0;
  for (const auto& m : messages) {
    if (!m.is_object() || !m.contains("content") || !m["content"].is_string()) continue;
    bool in_word = false;
    for (char c : m["content"].get_ref<const std::string&>()) {
      bool space = c == ' ' || c == '\n' || c == '\t';
      if (!space && !in_word) ++n;
      in_word = !space;
    }
  }
  return n;
}

}  // namespace

struct DemoBackend::Stream {
  ChatEvents events;
  uint64_t state;  // xorshift state: the next word
  uint32_t left;   // tokens still to send
  uint32_t sent = 0;
  int64_t prompt_tokens = 0;
  size_t delivered = 0;
  LoopHandle timer;
};

DemoBackend::DemoBackend(EventLoop& loop, DemoOptions options) : loop_(loop), options_(options) {}

DemoBackend::~DemoBackend() = default;  // each stream's timer goes with it

ChatBackend::StreamId DemoBackend::start(const ChatRequest& request, ChatEvents events) {
  StreamId id = next_id_++;
  auto s = std::make_unique<Stream>();
  s->events = std::move(events);
  const nlohmann::json& p = request.params;
  nlohmann::json messages = p.is_object() && p.contains("messages") ? p["messages"] : nullptr;
  s->state = fnv1a(request.model + "\n" + messages.dump()) | 1;
  s->prompt_tokens = countWords(messages);
  uint64_t max_tokens = options_.default_max_tokens;
  if (p.is_object() && p.contains("max_tokens") && p["max_tokens"].is_number_integer() &&
      p["max_tokens"].get<int64_t>() >= 0) {
    max_tokens = p["max_tokens"].get<uint64_t>();
  }
  s->left = static_cast<uint32_t>(std::min<uint64_t>(max_tokens, options_.max_tokens_cap));
  Stream* raw = s.get();
  streams_.emplace(id, std::move(s));
  raw->timer = loop_.after(options_.first_token, [this, id] { tick(id); });
  return id;
}

void DemoBackend::tick(StreamId id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& s = *it->second;
  if (s.left == 0) {
    ChatOutcome out;
    out.finish_reason = "length";
    out.usage.prompt_tokens = s.prompt_tokens;
    out.usage.completion_tokens = s.sent;
    out.delivered = s.delivered;
    out.forwarded = s.sent > 0;
    auto on_end = std::move(s.events.on_end);
    streams_.erase(it);
    if (on_end) on_end(out);
    return;
  }
  s.state ^= s.state << 13;
  s.state ^= s.state >> 7;
  s.state ^= s.state << 17;
  std::string word = std::string(s.sent ? " " : "") + kWords[s.state % kWords.size()];
  --s.left;
  ++s.sent;
  s.delivered += word.size();
  auto gap = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(1.0 / std::max(options_.tokens_per_second, 0.001)));
  // The next tick is armed before the delta goes out: on_delta may cancel this stream.
  s.timer = loop_.after(s.left ? gap : SteadyClock::duration::zero(), [this, id] { tick(id); });
  if (s.events.on_delta) s.events.on_delta({word, nullptr, word.size()});
}

void DemoBackend::cancel(StreamId id) { streams_.erase(id); }

}  // namespace sb::inference
