#include "exposition.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <deque>
#include <map>
#include <system_error>

namespace sb::health {
namespace {

constexpr std::string_view kSuffixes[] = {"_bucket", "_sum", "_count"};

bool isBlank(char c) { return c == ' ' || c == '\t'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isLabelStart(char c) { return isAlpha(c) || c == '_'; }
bool isLabelChar(char c) { return isLabelStart(c) || isDigit(c); }
bool isMetricStart(char c) { return isLabelStart(c) || c == ':'; }
bool isMetricChar(char c) { return isLabelChar(c) || c == ':'; }

char toLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (toLower(a[i]) != toLower(b[i])) return false;
  }
  return true;
}

// Go's utf8.ValidString: no overlong forms, no surrogates, nothing above U+10FFFF. The Go
// parser refuses label values that fail it, so we must never write one.
bool isValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((lead & 0xE0U) == 0xC0U) {
      len = 2;
      cp = lead & 0x1FU;
      min = 0x80;
    } else if ((lead & 0xF0U) == 0xE0U) {
      len = 3;
      cp = lead & 0x0FU;
      min = 0x800;
    } else if ((lead & 0xF8U) == 0xF0U) {
      len = 4;
      cp = lead & 0x07U;
      min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0U) != 0x80U) return false;
      cp = (cp << 6U) | (next & 0x3FU);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// from_chars reports underflow and overflow alike as out of range, but Go's ParseFloat fails
// only on overflow (1e-400 reads as 0). Out of range happens only near 1e±308, so the sign of
// the first significant digit's decimal exponent tells which one it was.
bool overflows(std::string_view decimal) {
  int64_t int_digits = 0;  // significant digits before the point
  int64_t frac_zeros = 0;  // zeros after the point before the first significant digit
  bool point = false;
  bool significant = false;
  size_t i = 0;
  for (; i < decimal.size() && decimal[i] != 'e' && decimal[i] != 'E'; ++i) {
    const char c = decimal[i];
    if (c == '.') {
      point = true;
    } else if (significant) {
      if (!point) ++int_digits;
    } else if (c != '0') {
      significant = true;
      if (!point) int_digits = 1;
    } else if (point) {
      ++frac_zeros;
    }
  }
  if (!significant) return false;
  int64_t exponent = 0;
  bool negative = false;
  if (i < decimal.size()) {
    ++i;
    if (i < decimal.size() && (decimal[i] == '+' || decimal[i] == '-')) {
      negative = decimal[i] == '-';
      ++i;
    }
    for (; i < decimal.size(); ++i) {
      // Saturate: only the sign of the sum matters, and digits are bounded by the line length.
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (decimal[i] - '0');
    }
  }
  if (negative) exponent = -exponent;
  const int64_t first = int_digits > 0 ? int_digits - 1 : -(frac_zeros + 1);
  return first + exponent > 0;
}

// Go's strconv.ParseInt(s, 10, 64).
bool isValidTimestamp(std::string_view s) {
  bool plus = false;
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
    plus = true;
  }
  const size_t first = (!plus && !s.empty() && s[0] == '-') ? 1 : 0;
  if (s.size() <= first || !isDigit(s[first])) return false;
  int64_t value = 0;
  const auto result = std::from_chars(s.data(), s.data() + s.size(), value);
  return result.ec == std::errc{} && result.ptr == s.data() + s.size();
}

// The text in quotes, cut short and with unprintable bytes as \xNN: error strings end up in
// logs, and the input is untrusted.
std::string excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += s[i];
    } else {
      out += "\\x";
      out += kHex[c >> 4U];
      out += kHex[c & 0x0FU];
    }
  }
  if (s.size() > kMax) out += "...";
  out += '\'';
  return out;
}

void appendEscaped(std::string& out, std::string_view s, bool escape_quote) {
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

bool isKnownType(MetricType t) {
  return t == MetricType::kCounter || t == MetricType::kGauge || t == MetricType::kHistogram ||
         t == MetricType::kSummary || t == MetricType::kUntyped;
}

// Whether a family of this type owns name + suffix (suffix one of kSuffixes).
bool ownsSuffix(MetricType type, std::string_view suffix) {
  if (type == MetricType::kHistogram) return true;
  return type == MetricType::kSummary && suffix != "_bucket";
}

// The names a histogram or summary would claim: "h_sum" -> ("h", "_sum"), else nullopt.
std::optional<std::pair<std::string_view, std::string_view>> splitSuffix(std::string_view name) {
  for (const std::string_view suffix : kSuffixes) {
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      return std::pair{name.substr(0, name.size() - suffix.size()), suffix};
    }
  }
  return std::nullopt;
}

const std::string* findLabel(const Sample& s, std::string_view name) {
  for (const auto& [n, v] : s.labels) {
    if (n == name) return &v;
  }
  return nullptr;
}

// What histograms and summaries need of a sample that resolved to them. The Go parser reads
// every le (quantile) label of a histogram (summary) as a float; we also refuse buckets without
// le and quantiles without quantile, which Go would silently drop.
const char* shapeProblem(const Sample& s, std::string_view family, MetricType type) {
  const bool bare = s.name.size() == family.size();
  const std::string_view suffix = std::string_view(s.name).substr(family.size());
  if (type == MetricType::kHistogram) {
    if (bare) return "a histogram's samples must be named _bucket, _sum or _count";
    const std::string* le = findLabel(s, "le");
    if (le == nullptr)
      return suffix == "_bucket" ? "histogram bucket without an le label" : nullptr;
    return isValidSampleValue(*le) ? nullptr : "the le label is not a float";
  }
  if (type == MetricType::kSummary) {
    const std::string* quantile = findLabel(s, "quantile");
    if (quantile == nullptr) return bare ? "summary quantile without a quantile label" : nullptr;
    return isValidSampleValue(*quantile) ? nullptr : "the quantile label is not a float";
  }
  return nullptr;
}

bool hasDuplicateLabel(const Sample& s) {
  std::vector<std::string_view> names;
  names.reserve(s.labels.size());
  for (const auto& label : s.labels) names.emplace_back(label.first);
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) != names.end();
}

// A read position in one line.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  char next() { return s_[i_++]; }
  void skip() { ++i_; }
  std::string_view rest() const { return s_.substr(i_); }
  void skipBlanks() {
    while (!done() && isBlank(s_[i_])) ++i_;
  }
  template <class Pred>
  std::string_view takeWhile(Pred pred) {
    const size_t start = i_;
    while (!done() && pred(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  std::string_view token() {
    return takeWhile([](char c) { return !isBlank(c); });
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

class Parser {
 public:
  explicit Parser(const ExpositionLimits& limits) : limits_(limits) {}

  std::optional<std::string> parse(std::string_view text) {
    if (text.size() > limits_.max_bytes) {
      return "input is " + std::to_string(text.size()) + " bytes, more than the limit of " +
             std::to_string(limits_.max_bytes);
    }
    size_t pos = 0;
    while (pos < text.size()) {
      ++line_no_;
      if (line_no_ > limits_.max_lines) {
        return fail("more than " + std::to_string(limits_.max_lines) + " lines");
      }
      const size_t end = text.find('\n', pos);
      const std::string_view line =
          text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
      if (line.size() > limits_.max_line) {
        return fail("longer than " + std::to_string(limits_.max_line) + " bytes");
      }
      // The format ends every line with a newline; without it the body was likely cut off,
      // and its last number may be cut short too.
      if (end == std::string_view::npos) return fail("no newline at the end (cut off?)");
      if (auto error = parseLine(line)) return error;
      pos = end + 1;
    }
    return std::nullopt;
  }

  std::vector<Family> take() { return std::move(families_); }

 private:
  struct State {
    bool typed = false;
    bool has_help = false;
    bool has_samples = false;
  };

  std::string fail(std::string_view what) const {
    return "line " + std::to_string(line_no_) + ": " + std::string(what);
  }

  std::optional<std::string> parseLine(std::string_view line) {
    Cursor c(line);
    c.skipBlanks();
    if (c.done()) return std::nullopt;
    if (c.peek() == '#') {
      c.skip();
      return parseComment(c);
    }
    return parseSample(c);
  }

  // "# HELP name text", "# TYPE name type", or a comment. As in Go, a keyword or name with
  // nothing after it is a comment too, and the space after '#' is optional.
  std::optional<std::string> parseComment(Cursor& c) {
    c.skipBlanks();
    const std::string_view keyword = c.token();
    if (keyword != "HELP" && keyword != "TYPE") return std::nullopt;
    c.skipBlanks();
    if (c.done()) return std::nullopt;
    const std::string_view name = isMetricStart(c.peek()) ? c.takeWhile(isMetricChar) : "";
    if (name.empty() || (!c.done() && !isBlank(c.peek()))) {
      return fail("invalid metric name in " + std::string(keyword) + " line: " + excerpt(c.rest()));
    }
    c.skipBlanks();
    if (c.done()) return std::nullopt;
    const std::string_view text = c.rest();

    if (keyword == "HELP") {
      std::string help;
      help.reserve(text.size());
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
          help += text[i];
        } else if (i + 1 < text.size() && (text[i + 1] == '\\' || text[i + 1] == 'n')) {
          help += text[i + 1] == 'n' ? '\n' : '\\';
          ++i;
        } else {
          return fail("invalid escape sequence in HELP text: " + excerpt(text.substr(i, 2)));
        }
      }
      if (!isValidUtf8(help)) return fail("HELP text is not valid UTF-8");
      const size_t index = resolve(name);
      if (states_[index].has_help) {
        return fail("second HELP line for " + excerpt(families_[index].name));
      }
      states_[index].has_help = true;
      families_[index].help = std::move(help);
      return std::nullopt;
    }

    std::string_view type_text = text;
    while (!type_text.empty() && isBlank(type_text.back())) type_text.remove_suffix(1);
    std::optional<MetricType> type;
    for (const MetricType t : {MetricType::kCounter, MetricType::kGauge, MetricType::kHistogram,
                               MetricType::kSummary, MetricType::kUntyped}) {
      if (equalsIgnoreCase(type_text, metricTypeName(t))) type = t;
    }
    if (!type) return fail("unknown metric type " + excerpt(type_text));
    const size_t index = resolve(name);
    if (states_[index].typed || states_[index].has_samples) {
      return fail("second TYPE line for " + excerpt(families_[index].name) +
                  ", or TYPE after its samples");
    }
    states_[index].typed = true;
    families_[index].type = *type;
    return std::nullopt;
  }

  // name[{label="value",...}] value [timestamp]
  std::optional<std::string> parseSample(Cursor& c) {
    if (!isMetricStart(c.peek())) return fail("expected a metric name, got " + excerpt(c.rest()));
    Sample sample;
    sample.name = c.takeWhile(isMetricChar);
    if (!c.done() && !isBlank(c.peek()) && c.peek() != '{') {
      return fail("invalid character in metric name: " + excerpt(c.rest()));
    }
    c.skipBlanks();
    if (c.peek() == '{') {
      c.skip();
      if (auto error = parseLabels(c, sample)) return error;
      c.skipBlanks();
    }
    const std::string_view value = c.token();
    if (value.empty()) return fail("missing value for " + excerpt(sample.name));
    if (!isValidSampleValue(value)) return fail("invalid value " + excerpt(value));
    sample.value = value;
    c.skipBlanks();
    if (!c.done()) {
      const std::string_view timestamp = c.token();
      if (!isValidTimestamp(timestamp)) return fail("invalid timestamp " + excerpt(timestamp));
      sample.timestamp = timestamp;
      c.skipBlanks();
      if (!c.done()) return fail("unexpected text after the timestamp: " + excerpt(c.rest()));
    }
    if (hasDuplicateLabel(sample)) return fail("duplicate label names in " + excerpt(sample.name));

    const size_t index = resolve(sample.name);
    Family& family = families_[index];
    if (const char* problem = shapeProblem(sample, family.name, family.type)) {
      return fail(std::string(problem) + " in " + excerpt(sample.name));
    }
    states_[index].has_samples = true;
    family.samples.push_back(std::move(sample));
    return std::nullopt;
  }

  // After the '{', up to and including the '}'. Go also accepts blanks around the names, '='
  // and ',', and a trailing comma.
  std::optional<std::string> parseLabels(Cursor& c, Sample& sample) {
    for (;;) {
      c.skipBlanks();
      if (c.done()) return fail("unterminated label set");
      if (c.peek() == '}') {
        c.skip();
        return std::nullopt;
      }
      if (sample.labels.size() >= limits_.max_labels) {
        return fail("more than " + std::to_string(limits_.max_labels) + " labels");
      }
      if (!isLabelStart(c.peek())) return fail("invalid label name at " + excerpt(c.rest()));
      const std::string_view name = c.takeWhile(isLabelChar);
      if (name == "__name__") return fail("label name __name__ is reserved");
      c.skipBlanks();
      if (c.peek() != '=') return fail("label " + excerpt(name) + " has no value");
      c.skip();
      c.skipBlanks();
      if (c.peek() != '"') return fail("value of label " + excerpt(name) + " is not quoted");
      c.skip();
      std::string value;
      for (;;) {
        if (c.done()) return fail("unterminated label value for " + excerpt(name));
        const char ch = c.next();
        if (ch == '"') break;
        if (ch != '\\') {
          value += ch;
          continue;
        }
        const char escaped = c.peek();
        if (escaped == '\\' || escaped == '"') {
          value += escaped;
        } else if (escaped == 'n') {
          value += '\n';
        } else if (c.done()) {
          return fail("unterminated label value for " + excerpt(name));
        } else {
          return fail("invalid escape sequence in label value: " +
                      excerpt(std::string{'\\', escaped}));
        }
        c.skip();
      }
      if (!isValidUtf8(value)) return fail("value of label " + excerpt(name) + " is not UTF-8");
      sample.labels.emplace_back(name, std::move(value));
      c.skipBlanks();
      if (c.peek() == ',') {
        c.skip();
      } else if (c.peek() != '}') {
        return fail(c.done() ? std::string("unterminated label set")
                             : "expected ',' or '}' at " + excerpt(c.rest()));
      }
    }
  }

  // The Go parser's lookup: the exact name, else the histogram or summary the suffix belongs
  // to, else a new untyped family.
  size_t resolve(std::string_view name) {
    if (const auto it = by_name_.find(name); it != by_name_.end()) return it->second;
    if (const auto split = splitSuffix(name)) {
      const auto it = by_name_.find(split->first);
      if (it != by_name_.end() && ownsSuffix(families_[it->second].type, split->second)) {
        return it->second;
      }
    }
    families_.push_back(Family{std::string(name), {}, MetricType::kUntyped, {}});
    states_.emplace_back();
    by_name_.emplace(name, families_.size() - 1);
    return families_.size() - 1;
  }

  const ExpositionLimits& limits_;
  std::vector<Family> families_;
  std::vector<State> states_;
  // Ordered, not hashed: names are chosen by the peer, who could otherwise pick colliding ones.
  std::map<std::string, size_t, std::less<>> by_name_;
  size_t line_no_ = 0;
};

class Merger {
 public:
  void add(const Source& source) {
    if (!validExtras(source.extra_labels)) {
      for (const Family& family : source.families) dropFamily(family);
      return;
    }
    for (const Family& family : source.families) {
      if (family.samples.empty()) continue;
      const std::optional<size_t> index = place(family);
      if (!index) {
        dropFamily(family);
        continue;
      }
      for (const Sample& sample : family.samples) {
        if (!sampleFits(sample, family)) {
          ++stats_.dropped_samples;
          continue;
        }
        appendSample(merged_[*index].body, sample, source.extra_labels);
      }
    }
  }

  std::string render() const {
    size_t size = 0;
    for (const Merged& m : merged_) size += m.body.size() + 2 * m.first->help.size() + 64;
    std::string out;
    out.reserve(size);
    for (const Merged& m : merged_) {
      if (m.body.empty()) continue;
      const Family& family = *m.first;
      if (!family.help.empty()) {
        out += "# HELP ";
        out += family.name;
        out += ' ';
        appendEscaped(out, family.help, /*escape_quote=*/false);
        out += '\n';
      }
      out += "# TYPE ";
      out += family.name;
      out += ' ';
      out += metricTypeName(family.type);
      out += '\n';
      out += m.body;
    }
    return out;
  }

  const MergeStats& stats() const { return stats_; }

 private:
  struct Merged {
    const Family* first;  // name, type and HELP come from the first source
    std::string body;     // the sample lines of every source
  };

  void dropFamily(const Family& family) {
    if (family.samples.empty()) return;
    ++stats_.dropped_families;
    stats_.dropped_samples += family.samples.size();
  }

  static bool validExtras(const std::vector<std::pair<std::string, std::string>>& extras) {
    for (size_t i = 0; i < extras.size(); ++i) {
      const auto& [name, value] = extras[i];
      // Renaming le or quantile to exported_* would break every histogram and summary.
      if (!isValidLabelName(name) || name == "__name__" || name == "le" || name == "quantile" ||
          value.empty() || !isValidUtf8(value)) {
        return false;
      }
      for (size_t j = 0; j < i; ++j) {
        if (extras[j].first == name) return false;
      }
    }
    return true;
  }

  // The merged family for `family`, or nullopt when writing it would not read back as itself.
  std::optional<size_t> place(const Family& family) {
    if (!isValidMetricName(family.name) || !isValidUtf8(family.help) || !isKnownType(family.type)) {
      return std::nullopt;
    }
    if (const auto it = by_name_.find(family.name); it != by_name_.end()) {
      if (merged_[it->second].first->type != family.type) return std::nullopt;
      return it->second;
    }
    // The Go parser would read "# TYPE h_sum ..." into an earlier histogram h.
    if (const auto split = splitSuffix(family.name)) {
      const auto it = by_name_.find(split->first);
      if (it != by_name_.end() && ownsSuffix(merged_[it->second].first->type, split->second)) {
        return std::nullopt;
      }
    }
    merged_.push_back(Merged{&family, {}});
    by_name_.emplace(family.name, merged_.size() - 1);
    return merged_.size() - 1;
  }

  // Whether the sample is well-formed and will be read back into its family: h_sum is read
  // into a family named h_sum, if there is one, before histogram h. Families not yet placed
  // cannot take the name later, as place() refuses them.
  bool sampleFits(const Sample& sample, const Family& family) const {
    const std::string_view name = sample.name;
    if (name != family.name) {
      const auto split = splitSuffix(name);
      if (!split || split->first != family.name || !ownsSuffix(family.type, split->second) ||
          by_name_.count(name) != 0) {
        return false;
      }
    }
    for (const auto& [label, value] : sample.labels) {
      if (!isValidLabelName(label) || label == "__name__" || !isValidUtf8(value)) return false;
    }
    if (hasDuplicateLabel(sample) || !isValidSampleValue(sample.value)) return false;
    if (!sample.timestamp.empty() && !isValidTimestamp(sample.timestamp)) return false;
    return shapeProblem(sample, family.name, family.type) == nullptr;
  }

  // Prometheus's honor_labels: false: a sample label the target also sets is kept as
  // exported_<name>, prefixed again while that is taken, shorter names first; an empty label
  // counts as absent and is overwritten.
  static void appendSample(std::string& body, const Sample& sample,
                           const std::vector<std::pair<std::string, std::string>>& extras) {
    using Label = std::pair<std::string_view, std::string_view>;
    std::vector<Label> labels;
    labels.reserve(extras.size() + sample.labels.size());
    for (const auto& [name, value] : extras) labels.emplace_back(name, value);
    std::vector<Label> conflicts;
    for (const auto& label : sample.labels) {
      const bool taken = std::any_of(extras.begin(), extras.end(),
                                     [&](const auto& extra) { return extra.first == label.first; });
      if (!taken) {
        labels.emplace_back(label.first, label.second);
      } else if (!label.second.empty()) {
        conflicts.emplace_back(label.first, label.second);
      }
    }
    std::stable_sort(conflicts.begin(), conflicts.end(), [](const Label& a, const Label& b) {
      return a.first.size() < b.first.size();
    });
    std::deque<std::string> renamed;  // a deque keeps the views into it valid while it grows
    for (const auto& [name, value] : conflicts) {
      std::string exported(name);
      for (;;) {
        exported.insert(0, "exported_");
        const auto it = std::find_if(labels.begin(), labels.end(),
                                     [&](const Label& l) { return l.first == exported; });
        if (it == labels.end()) {
          renamed.push_back(exported);
          labels.emplace_back(renamed.back(), value);
          break;
        }
        if (it->second.empty()) {
          it->second = value;
          break;
        }
      }
    }

    body += sample.name;
    if (!labels.empty()) {
      body += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) body += ',';
        body += labels[i].first;
        body += "=\"";
        appendEscaped(body, labels[i].second, /*escape_quote=*/true);
        body += '"';
      }
      body += '}';
    }
    body += ' ';
    body += sample.value;
    if (!sample.timestamp.empty()) {
      body += ' ';
      body += sample.timestamp;
    }
    body += '\n';
  }

  std::vector<Merged> merged_;
  std::map<std::string_view, size_t, std::less<>> by_name_;
  MergeStats stats_;
};

}  // namespace

std::string_view metricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kUntyped:
      break;
  }
  return "untyped";
}

bool isValidMetricName(std::string_view name) {
  return !name.empty() && isMetricStart(name[0]) &&
         std::all_of(name.begin(), name.end(), isMetricChar);
}

bool isValidLabelName(std::string_view name) {
  return !name.empty() && isLabelStart(name[0]) &&
         std::all_of(name.begin(), name.end(), isLabelChar);
}

bool isValidSampleValue(std::string_view text) {
  std::string_view s = text;
  const bool has_sign = !s.empty() && (s[0] == '+' || s[0] == '-');
  if (has_sign) s.remove_prefix(1);
  if (equalsIgnoreCase(s, "inf") || equalsIgnoreCase(s, "infinity")) return true;
  if (equalsIgnoreCase(s, "nan")) return !has_sign;  // Go takes no sign before NaN
  // digits [. digits] [e [sign] digits], at least one mantissa digit. from_chars alone would
  // not do: it takes "nan(...)", and Go and from_chars differ on what else they accept.
  size_t i = 0;
  size_t digits = 0;
  for (; i < s.size() && isDigit(s[i]); ++i) ++digits;
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && isDigit(s[i]); ++i) ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exponent_digits = 0;
    for (; i < s.size() && isDigit(s[i]); ++i) ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  if (i != s.size()) return false;
  double value = 0;
  const auto result = std::from_chars(s.data(), s.data() + s.size(), value);
  if (result.ec == std::errc::result_out_of_range) return !overflows(s);
  return result.ec == std::errc{} && result.ptr == s.data() + s.size();
}

std::optional<std::string> parseExposition(std::string_view text, const ExpositionLimits& limits,
                                           std::vector<Family>& out) {
  out.clear();
  Parser parser(limits);
  if (auto error = parser.parse(text)) return error;
  out = parser.take();
  return std::nullopt;
}

std::string renderMerged(const std::vector<Source>& sources, MergeStats* stats) {
  Merger merger;
  for (const Source& source : sources) merger.add(source);
  if (stats != nullptr) *stats = merger.stats();
  return merger.render();
}

}  // namespace sb::health
