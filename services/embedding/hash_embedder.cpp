#include "hash_embedder.h"

#include <cmath>
#include <string>

#include "sb/policy/mix64.h"

namespace sb::embedding {

namespace {

uint64_t featureHash(char kind, std::string_view s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  auto mix = [&h](uint8_t b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  mix(static_cast<uint8_t>(kind));
  for (char c : s) mix(static_cast<uint8_t>(c));
  return mix64(h);  // spreads FNV's weak low bits over the whole word
}

void add(std::vector<float>& v, char kind, std::string_view feature, float weight) {
  uint64_t h = featureHash(kind, feature);
  float sign = (h >> 63) ? -1.0f : 1.0f;
  v[(h & 0x7fffffffffffffffull) % v.size()] += sign * weight;
}

bool wordByte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

}  // namespace

Embedding hashEmbed(std::string_view text, uint32_t dimensions, const HashEmbedderOptions& o) {
  Embedding e;
  e.values.assign(dimensions == 0 ? o.dimensions : dimensions, 0.0f);
  std::string word;
  uint32_t words = 0;
  auto flush = [&] {
    if (word.empty()) return;
    ++words;
    add(e.values, 'w', word, o.word_weight);
    std::string marked = "<" + word + ">";
    if (o.ngram > 0) {
      if (marked.size() <= o.ngram) {
        add(e.values, 'n', marked, o.ngram_weight);
      } else {
        for (size_t i = 0; i + o.ngram <= marked.size(); ++i)
          add(e.values, 'n', std::string_view(marked).substr(i, o.ngram), o.ngram_weight);
      }
    }
    word.clear();
  };
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (wordByte(c))
      word.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    else
      flush();
  }
  flush();
  if (words == 0) add(e.values, 't', text, 1.0f);
  double norm = 0;
  for (float x : e.values) norm += double{x} * x;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& x : e.values) x = static_cast<float>(x / norm);
  }
  e.tokens = words == 0 ? 1 : words;
  return e;
}

}  // namespace sb::embedding
