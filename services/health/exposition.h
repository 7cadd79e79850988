#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::health {

// Prometheus text exposition format 0.0.4, as prometheus-cpp writes it and as the Go parser
// behind `promtool check metrics` (expfmt.TextParser) reads it. The text comes from other
// processes over the network, so parsing is bounded by ExpositionLimits, never throws, and
// refuses the whole text on the first bad line: a half-read exposition would silently lose
// series, which is worse than a visible scrape error.

enum class MetricType { kCounter, kGauge, kHistogram, kSummary, kUntyped };

// "counter", "gauge", "histogram", "summary" or "untyped".
std::string_view metricTypeName(MetricType type);

struct Sample {
  std::string name;  // the family name, or name_bucket / _sum / _count for histograms, summaries
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped, in input order
  std::string value;      // the float text exactly as written ("+Inf", "1e-3", ...)
  std::string timestamp;  // milliseconds as written, or empty
};

struct Family {
  std::string name;
  std::string help;  // unescaped; empty when there was no HELP line
  MetricType type = MetricType::kUntyped;
  std::vector<Sample> samples;
};

struct ExpositionLimits {
  size_t max_bytes = size_t{4} << 20;
  size_t max_lines = 200000;
  size_t max_labels = 32;              // per sample
  size_t max_line = size_t{64} << 10;  // bytes, without the newline
};

// Parses `text` into `out` (cleared first; left empty on error). Returns nullopt, or an error
// naming the line ("line 12: unterminated label value").
//
// Families come in order of first mention (HELP, TYPE or sample). A sample joins the family of
// its exact name if one was seen; otherwise name_bucket/_sum/_count joins a histogram (or
// _sum/_count a summary) named name declared earlier; otherwise it starts an untyped family.
// That is the Go parser's rule, so a later sample of an earlier family is not an error. As in
// Go: TYPE after the family's samples, a second TYPE or HELP, duplicate label names, `__name__`
// as a label, a histogram bucket without a float `le`, a summary quantile without a float
// `quantile`, a value Go's ParseFloat refuses (incl. overflow such as 1e400), label values that
// are not UTF-8, and text without a final newline (a cut-off body) are errors. Stricter than Go:
// a bare `name` sample in a histogram, HELP text that is not UTF-8, and a value glued to the
// metric name (`a+1`) are refused too. Laxer than Go: blanks at the end of a sample line.
std::optional<std::string> parseExposition(std::string_view text, const ExpositionLimits& limits,
                                           std::vector<Family>& out);

// One process's exposition plus the labels that say where it came from.
struct Source {
  std::vector<std::pair<std::string, std::string>> extra_labels;  // e.g. {"service", "infer"}
  std::vector<Family> families;
};

struct MergeStats {
  size_t dropped_families = 0;  // type conflicts, name clashes, invalid families or sources
  size_t dropped_samples = 0;   // every sample not written, including those of dropped families
};

// One exposition holding every source's samples, each with its source's extra labels. A
// sample label of the same name (non-empty) is kept as exported_<name> (exported_exported_<name>
// if that is taken too), as Prometheus does with honor_labels: false. A family is written once
// where it first appears, HELP and TYPE from its first source, with the samples of every
// source grouped under it; empty families are not written.
//
// Always valid text, whatever the input: a family whose type differs from the first source's,
// or whose name a histogram/summary declared earlier would claim (h_sum after histogram h), is
// dropped; so is a sample that would be read back into another family, or that is malformed
// (families may be built by hand, not only parsed). A source whose extra labels are invalid
// (bad or duplicate name, empty value, or le / quantile / __name__) is dropped entirely, since
// its samples could not be told apart from another source's.
std::string renderMerged(const std::vector<Source>& sources, MergeStats* stats = nullptr);

// The grammar checks used by both directions, for callers that build families themselves.
bool isValidMetricName(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool isValidLabelName(std::string_view name);   // [a-zA-Z_][a-zA-Z0-9_]*
// What Go's strconv.ParseFloat accepts in the text format: decimal with optional sign and
// exponent, Inf/Infinity with optional sign, NaN (any case); no hex, no '_', no overflow.
bool isValidSampleValue(std::string_view text);

}  // namespace sb::health
