#include "exposition.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sb::health {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// What prometheus-cpp writes for a counter, a gauge, a histogram and a summary.
constexpr std::string_view kInferText =
    "# HELP sb_requests_total Requests handled, by route and status.\n"
    "# TYPE sb_requests_total counter\n"
    "sb_requests_total{route=\"/v1/embeddings\",status=\"200\"} 1027\n"
    "sb_requests_total{route=\"/v1/embeddings\",status=\"500\"} 3\n"
    "# HELP sb_inflight_requests Requests in flight.\n"
    "# TYPE sb_inflight_requests gauge\n"
    "sb_inflight_requests 4\n"
    "# HELP sb_request_duration_seconds Request latency.\n"
    "# TYPE sb_request_duration_seconds histogram\n"
    "sb_request_duration_seconds_count{route=\"/v1/embeddings\"} 1030\n"
    "sb_request_duration_seconds_sum{route=\"/v1/embeddings\"} 51.5\n"
    "sb_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"0.005\"} 10\n"
    "sb_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"0.1\"} 900\n"
    "sb_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"+Inf\"} 1030\n"
    "# HELP sb_queue_wait_seconds Time spent queued.\n"
    "# TYPE sb_queue_wait_seconds summary\n"
    "sb_queue_wait_seconds_count 100\n"
    "sb_queue_wait_seconds_sum 2.5\n"
    "sb_queue_wait_seconds{quantile=\"0.5\"} 0.01\n"
    "sb_queue_wait_seconds{quantile=\"0.99\"} 0.2\n";

std::vector<Family> parseOk(std::string_view text, const ExpositionLimits& limits = {}) {
  std::vector<Family> families;
  const auto error = parseExposition(text, limits, families);
  EXPECT_FALSE(error.has_value()) << *error << "\n" << text;
  return families;
}

std::string parseError(std::string_view text, const ExpositionLimits& limits = {}) {
  std::vector<Family> families;
  families.push_back(Family{"stale", {}, MetricType::kGauge, {}});
  const auto error = parseExposition(text, limits, families);
  EXPECT_TRUE(families.empty()) << "families are left empty on error";
  return error.value_or("<no error>");
}

size_t sampleCount(const std::vector<Family>& families) {
  size_t n = 0;
  for (const Family& f : families) n += f.samples.size();
  return n;
}

const Family* findFamily(const std::vector<Family>& families, std::string_view name) {
  for (const Family& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string renderOne(std::vector<Family> families, Labels extra = {}) {
  return renderMerged({Source{std::move(extra), std::move(families)}});
}

TEST(ExpositionParseTest, ReadsPrometheusCppOutput) {
  const auto families = parseOk(kInferText);
  ASSERT_EQ(families.size(), 4u);
  EXPECT_EQ(families[0].name, "sb_requests_total");
  EXPECT_EQ(families[0].type, MetricType::kCounter);
  EXPECT_EQ(families[0].help, "Requests handled, by route and status.");
  ASSERT_EQ(families[0].samples.size(), 2u);
  const Sample& ok = families[0].samples[0];
  EXPECT_EQ(ok.name, "sb_requests_total");
  EXPECT_EQ(ok.labels, (Labels{{"route", "/v1/embeddings"}, {"status", "200"}}));
  EXPECT_EQ(ok.value, "1027");
  EXPECT_EQ(ok.timestamp, "");

  EXPECT_EQ(families[1].type, MetricType::kGauge);
  EXPECT_TRUE(families[1].samples[0].labels.empty());

  const Family& hist = families[2];
  EXPECT_EQ(hist.type, MetricType::kHistogram);
  ASSERT_EQ(hist.samples.size(), 5u);
  EXPECT_EQ(hist.samples[0].name, "sb_request_duration_seconds_count");
  EXPECT_EQ(hist.samples[4].labels.back(), (std::pair<std::string, std::string>{"le", "+Inf"}));

  EXPECT_EQ(families[3].type, MetricType::kSummary);
  EXPECT_EQ(families[3].samples.size(), 4u);
}

TEST(ExpositionParseTest, KeepsValueAndTimestampTextExactly) {
  const auto families = parseOk("a 1.50e-3 1712345678901\nb +Inf\nc NaN\nd -0 -5\n");
  ASSERT_EQ(families.size(), 4u);
  EXPECT_EQ(families[0].samples[0].value, "1.50e-3");
  EXPECT_EQ(families[0].samples[0].timestamp, "1712345678901");
  EXPECT_EQ(families[1].samples[0].value, "+Inf");
  EXPECT_EQ(families[2].samples[0].value, "NaN");
  EXPECT_EQ(families[3].samples[0].timestamp, "-5");
  EXPECT_EQ(families[0].type, MetricType::kUntyped);
}

// Go's syntax, plus blanks at the end of a sample line (Go refuses those; they are harmless,
// and never written back).
TEST(ExpositionParseTest, AcceptsGoSyntaxAndTrailingBlanks) {
  const auto families = parseOk(
      "\n"
      "   \t\n"
      "# just a comment\n"
      "#\n"
      "# HELP\n"
      "#HELP a Glued keyword.\n"
      "# TYPE a GAUGE  \n"
      "  a { x = \"1\" , y=\"2\", } 7 \n"
      "a{} 8\n");
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].help, "Glued keyword.");
  EXPECT_EQ(families[0].type, MetricType::kGauge);
  ASSERT_EQ(families[0].samples.size(), 2u);
  EXPECT_EQ(families[0].samples[0].labels, (Labels{{"x", "1"}, {"y", "2"}}));
  EXPECT_EQ(families[0].samples[0].value, "7");
  EXPECT_TRUE(families[0].samples[1].labels.empty());
}

TEST(ExpositionParseTest, EmptyInputHasNoFamilies) { EXPECT_TRUE(parseOk("").empty()); }

TEST(ExpositionRoundTripTest, RendersPrometheusCppOutputBackUnchanged) {
  EXPECT_EQ(renderOne(parseOk(kInferText)), kInferText);
}

TEST(ExpositionRoundTripTest, NormalizesSpacingAndTypeCase) {
  EXPECT_EQ(renderOne(parseOk("# TYPE a COUNTER\na { x = \"1\" , } 7   12\n")),
            "# TYPE a counter\na{x=\"1\"} 7 12\n");
}

TEST(ExpositionEscapingTest, LabelValuesAreUnescapedOnInputAndEscapedOnOutput) {
  const std::string text = "# TYPE a gauge\na{v=\"back\\\\slash \\\"quoted\\\" new\\nline\"} 1\n";
  const auto families = parseOk(text);
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].samples[0].labels[0].second, "back\\slash \"quoted\" new\nline");
  EXPECT_EQ(renderOne(families), text);
}

TEST(ExpositionEscapingTest, HelpEscapesOnlyBackslashAndNewline) {
  const std::string text = "# HELP a C:\\\\dir \"as is\"\\nsecond line\n# TYPE a gauge\na 1\n";
  const auto families = parseOk(text);
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].help, "C:\\dir \"as is\"\nsecond line");
  EXPECT_EQ(renderOne(families), text);
}

TEST(ExpositionEscapingTest, HandBuiltValuesAreEscaped) {
  Family f{"a", "x\\y\nz\"", MetricType::kGauge, {}};
  f.samples.push_back(Sample{"a", {{"k", "q\"b\\n\nend"}}, "1", ""});
  EXPECT_EQ(renderOne({f}),
            "# HELP a x\\\\y\\nz\"\n# TYPE a gauge\na{k=\"q\\\"b\\\\n\\nend\"} 1\n");
}

TEST(ExpositionGroupingTest, HistogramAndSummarySamplesJoinTheirFamily) {
  const auto families = parseOk(
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\"} 1\n"
      "# TYPE g gauge\n"
      "g 5\n"
      "h_bucket{le=\"+Inf\"} 2\n"  // after another family: still h's
      "h_sum 3\n"
      "h_count 2\n"
      "g_sum 1\n"  // a gauge owns no suffixes: a family of its own
      "# TYPE s summary\n"
      "s{quantile=\"0.5\"} 1\n"
      "s_sum 4\n"
      "s_count 2\n"
      "s_bucket 9\n");  // a summary has no buckets
  ASSERT_EQ(families.size(), 5u);
  EXPECT_EQ(families[0].name, "h");
  ASSERT_EQ(families[0].samples.size(), 4u);
  EXPECT_EQ(families[0].samples[1].name, "h_bucket");
  EXPECT_EQ(families[0].samples[2].name, "h_sum");
  EXPECT_EQ(families[1].name, "g");
  EXPECT_EQ(families[1].samples.size(), 1u);
  EXPECT_EQ(families[2].name, "g_sum");
  EXPECT_EQ(families[2].type, MetricType::kUntyped);
  EXPECT_EQ(families[3].name, "s");
  EXPECT_EQ(families[3].samples.size(), 3u);
  EXPECT_EQ(families[4].name, "s_bucket");

  // Written back grouped: all of h's samples under its TYPE line.
  const std::string out = renderOne(families);
  EXPECT_NE(out.find("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                     "h_sum 3\nh_count 2\n# TYPE g gauge\n"),
            std::string::npos)
      << out;
}

TEST(ExpositionGroupingTest, ExactNameWinsOverSuffix) {
  // h_sum exists before h becomes a histogram, so h_sum samples stay there, as in Go.
  const auto families = parseOk("h_sum 1\n# TYPE h histogram\nh_sum 2\nh_count 1\n");
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].name, "h_sum");
  EXPECT_EQ(families[0].samples.size(), 2u);
  EXPECT_EQ(families[1].samples.size(), 1u);
}

TEST(ExpositionMergeTest, AddsSourceLabelsAndKeepsConflictingOnesAsExported) {
  const auto a = parseOk(
      "# HELP up_total Ups.\n# TYPE up_total counter\n"
      "up_total{instance=\"pod-7\",job=\"x\"} 1\n");
  const auto b = parseOk(
      "# HELP up_total Other help.\n# TYPE up_total counter\n"
      "up_total{instance=\"pod-9\",exported_instance=\"old\"} 2\n"
      "up_total{instance=\"\"} 3\n");
  MergeStats stats;
  const std::string out = renderMerged({Source{{{"service", "infer"}, {"instance", "infer-1"}}, a},
                                        Source{{{"service", "infer"}, {"instance", "infer-2"}}, b}},
                                       &stats);
  EXPECT_EQ(out,
            "# HELP up_total Ups.\n# TYPE up_total counter\n"
            "up_total{service=\"infer\",instance=\"infer-1\",job=\"x\","
            "exported_instance=\"pod-7\"} 1\n"
            "up_total{service=\"infer\",instance=\"infer-2\",exported_instance=\"old\","
            "exported_exported_instance=\"pod-9\"} 2\n"
            "up_total{service=\"infer\",instance=\"infer-2\"} 3\n");
  EXPECT_EQ(stats.dropped_families, 0u);
  EXPECT_EQ(stats.dropped_samples, 0u);
}

TEST(ExpositionMergeTest, EmptyExportedLabelIsOverwritten) {
  Family f{"a", {}, MetricType::kGauge, {}};
  f.samples.push_back(Sample{"a", {{"exported_job", ""}, {"job", "j"}}, "1", ""});
  EXPECT_EQ(renderOne({f}, {{"job", "infer"}}),
            "# TYPE a gauge\na{job=\"infer\",exported_job=\"j\"} 1\n");
}

TEST(ExpositionMergeTest, GroupsSameFamilyAcrossSourcesInFirstAppearanceOrder) {
  const auto a = parseOk("# TYPE x gauge\nx 1\n# TYPE y gauge\ny 2\n");
  const auto b = parseOk("# TYPE z gauge\nz 3\n# TYPE x gauge\nx 4\n");
  EXPECT_EQ(renderMerged({Source{{{"i", "a"}}, a}, Source{{{"i", "b"}}, b}}),
            "# TYPE x gauge\nx{i=\"a\"} 1\nx{i=\"b\"} 4\n"
            "# TYPE y gauge\ny{i=\"a\"} 2\n"
            "# TYPE z gauge\nz{i=\"b\"} 3\n");
}

TEST(ExpositionMergeTest, DropsLaterFamilyWithAnotherType) {
  const auto a = parseOk("# TYPE x counter\nx 1\n");
  const auto b = parseOk("# TYPE x gauge\nx 2\nx{k=\"v\"} 3\n# TYPE y gauge\ny 4\n");
  MergeStats stats;
  const std::string out = renderMerged({Source{{{"i", "a"}}, a}, Source{{{"i", "b"}}, b}}, &stats);
  EXPECT_EQ(out, "# TYPE x counter\nx{i=\"a\"} 1\n# TYPE y gauge\ny{i=\"b\"} 4\n");
  EXPECT_EQ(stats.dropped_families, 1u);
  EXPECT_EQ(stats.dropped_samples, 2u);
}

TEST(ExpositionMergeTest, DropsNamesAnEarlierHistogramWouldClaim) {
  const auto a = parseOk("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n");
  const auto b = parseOk("h_sum 5\nh_bucket 6\n# TYPE h histogram\nh_count 2\n");
  MergeStats stats;
  const std::string out = renderMerged({Source{{{"i", "a"}}, a}, Source{{{"i", "b"}}, b}}, &stats);
  // b's h_sum and h_bucket families would be read back into histogram h; its h_count fits.
  EXPECT_EQ(out,
            "# TYPE h histogram\nh_bucket{i=\"a\",le=\"+Inf\"} 1\nh_count{i=\"a\"} 1\n"
            "h_count{i=\"b\"} 2\n");
  EXPECT_EQ(stats.dropped_families, 2u);
  EXPECT_EQ(stats.dropped_samples, 2u);
}

TEST(ExpositionMergeTest, DropsHistogramSamplesAnEarlierFamilyWouldTake) {
  const auto a = parseOk("h_sum 5\n");
  const auto b = parseOk("# TYPE h histogram\nh_sum 1\nh_count 1\n");
  MergeStats stats;
  const std::string out = renderMerged({Source{{{"i", "a"}}, a}, Source{{{"i", "b"}}, b}}, &stats);
  EXPECT_EQ(out,
            "# TYPE h_sum untyped\nh_sum{i=\"a\"} 5\n# TYPE h histogram\nh_count{i=\"b\"} 1\n");
  EXPECT_EQ(stats.dropped_families, 0u);
  EXPECT_EQ(stats.dropped_samples, 1u);
  // And what is written reads back as written.
  EXPECT_EQ(renderOne(parseOk(out)), out);
}

TEST(ExpositionMergeTest, DropsAFamilyThatOnlyReadsBackAsItselfInGoOrder) {
  // h is created by HELP before h_sum, and becomes a histogram after it: in Go's map that is
  // fine, but written in order "# TYPE h_sum" would follow histogram h and be read into it.
  const auto families =
      parseOk("# HELP h Latency.\nh_sum 1\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n");
  ASSERT_EQ(families.size(), 2u);
  MergeStats stats;
  const std::string out = renderMerged({Source{{}, families}}, &stats);
  EXPECT_EQ(out, "# HELP h Latency.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n");
  EXPECT_EQ(stats.dropped_families, 1u);
  EXPECT_EQ(stats.dropped_samples, 1u);
  EXPECT_EQ(renderOne(parseOk(out)), out);
}

TEST(ExpositionMergeTest, DropsSourceWithInvalidExtraLabels) {
  const auto a = parseOk("# TYPE x gauge\nx 1\nx{k=\"v\"} 2\n");
  for (const Labels& bad : {Labels{{"1bad", "v"}}, Labels{{"le", "v"}}, Labels{{"quantile", "v"}},
                            Labels{{"__name__", "v"}}, Labels{{"a", "1"}, {"a", "2"}},
                            Labels{{"a", ""}}, Labels{{"a", "\xff"}}}) {
    MergeStats stats;
    EXPECT_EQ(renderMerged({Source{bad, a}}, &stats), "") << bad[0].first;
    EXPECT_EQ(stats.dropped_families, 1u);
    EXPECT_EQ(stats.dropped_samples, 2u);
  }
}

TEST(ExpositionMergeTest, DropsMalformedHandBuiltSamplesAndFamilies) {
  Family good{"x", {}, MetricType::kGauge, {}};
  good.samples.push_back(Sample{"x", {}, "1", ""});
  good.samples.push_back(Sample{"x", {}, "one", ""});                      // bad value
  good.samples.push_back(Sample{"x", {{"a b", "1"}}, "1", ""});            // bad label name
  good.samples.push_back(Sample{"x", {{"a", "1"}, {"a", "2"}}, "1", ""});  // duplicate label
  good.samples.push_back(Sample{"x", {}, "1", "soon"});                    // bad timestamp
  good.samples.push_back(Sample{"x_sum", {}, "1", ""});                    // not a gauge's name
  good.samples.push_back(Sample{"y", {}, "1", ""});                        // another family's name
  Family bad_name{"9x", {}, MetricType::kGauge, {Sample{"9x", {}, "1", ""}}};
  Family bad_type{"z", {}, static_cast<MetricType>(42), {Sample{"z", {}, "1", ""}}};
  Family bucket_without_le{"h", {}, MetricType::kHistogram, {Sample{"h_bucket", {}, "1", ""}}};
  MergeStats stats;
  const std::string out =
      renderMerged({Source{{}, {good, bad_name, bad_type, bucket_without_le}}}, &stats);
  EXPECT_EQ(out, "# TYPE x gauge\nx 1\n");
  EXPECT_EQ(stats.dropped_families, 2u);
  EXPECT_EQ(stats.dropped_samples, 6u + 2u + 1u);
}

TEST(ExpositionMergeTest, SkipsFamiliesWithoutSamples) {
  const auto a = parseOk("# HELP x Declared only.\n# TYPE x counter\n");
  const auto b = parseOk("# TYPE x gauge\nx 1\n");
  MergeStats stats;
  EXPECT_EQ(renderMerged({Source{{}, a}, Source{{}, b}}, &stats), "# TYPE x gauge\nx 1\n");
  EXPECT_EQ(stats.dropped_families, 0u);
}

TEST(ExpositionLimitsTest, Bytes) {
  const std::string text = "a 1\nb 2\n";
  ExpositionLimits limits;
  limits.max_bytes = text.size();
  EXPECT_EQ(parseOk(text, limits).size(), 2u);
  limits.max_bytes = text.size() - 1;
  EXPECT_EQ(parseError(text, limits), "input is 8 bytes, more than the limit of 7");
}

TEST(ExpositionLimitsTest, Lines) {
  const std::string text = "a 1\n\n# c\nb 2\n";
  ExpositionLimits limits;
  limits.max_lines = 4;
  EXPECT_EQ(parseOk(text, limits).size(), 2u);
  limits.max_lines = 3;
  EXPECT_EQ(parseError(text, limits), "line 4: more than 3 lines");
}

TEST(ExpositionLimitsTest, LineLength) {
  const std::string text = "a 1\nbb 22\n";
  ExpositionLimits limits;
  limits.max_line = 5;
  EXPECT_EQ(parseOk(text, limits).size(), 2u);
  limits.max_line = 4;
  EXPECT_EQ(parseError(text, limits), "line 2: longer than 4 bytes");
  // Also without the final newline: the length is checked first.
  EXPECT_EQ(parseError("a 1\nbb 22", limits), "line 2: longer than 4 bytes");
}

TEST(ExpositionLimitsTest, LabelsPerSample) {
  const std::string text = "a{x=\"1\",y=\"2\",z=\"3\"} 1\n";
  ExpositionLimits limits;
  limits.max_labels = 3;
  EXPECT_EQ(parseOk(text, limits).size(), 1u);
  limits.max_labels = 2;
  EXPECT_EQ(parseError(text, limits), "line 1: more than 2 labels");
}

TEST(ExpositionLimitsTest, HugeInputFailsFastOnTheFirstLimit) {
  const std::string text(size_t{5} << 20, 'a');
  EXPECT_EQ(parseError(text), "input is 5242880 bytes, more than the limit of 4194304");
  EXPECT_EQ(parseError(std::string(200001, '\n')), "line 200001: more than 200000 lines");
}

struct Malformed {
  std::string text;
  std::string error;
};

class ExpositionMalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(ExpositionMalformedTest, IsRejectedWithItsLineNumber) {
  EXPECT_EQ(parseError(GetParam().text), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    All, ExpositionMalformedTest,
    ::testing::Values(
        Malformed{"ok 1\na{x=\"1} 2\n", "line 2: unterminated label value for 'x'"},
        Malformed{"a{x=\"1\\\n", "line 1: unterminated label value for 'x'"},
        Malformed{"ok 1\n\na{x=\"\\t\"} 2\n",
                  "line 3: invalid escape sequence in label value: '\\x5ct'"},
        Malformed{"a 1O\n", "line 1: invalid value '1O'"},
        Malformed{"a{x} 1\n", "line 1: label 'x' has no value"},
        Malformed{"a{x=1} 1\n", "line 1: value of label 'x' is not quoted"},
        Malformed{"a{x=\"1\" y=\"2\"} 1\n", "line 1: expected ',' or '}' at 'y=\"2\"} 1'"},
        Malformed{"a{x=\"1\"\n", "line 1: unterminated label set"},
        Malformed{"a{,} 1\n", "line 1: invalid label name at ',} 1'"},
        Malformed{"a{1x=\"1\"} 1\n", "line 1: invalid label name at '1x=\"1\"} 1'"},
        Malformed{"}}} garbage\n", "line 1: expected a metric name, got '}}} garbage'"},
        Malformed{"a-b 1\n", "line 1: invalid character in metric name: '-b 1'"},
        Malformed{"a\n", "line 1: missing value for 'a'"},
        Malformed{"a{x=\"1\"}\n", "line 1: missing value for 'a'"},
        Malformed{"a 1 12.5\n", "line 1: invalid timestamp '12.5'"},
        Malformed{"a 1 12 extra\n", "line 1: unexpected text after the timestamp: 'extra'"},
        Malformed{"a 1", "line 1: no newline at the end (cut off?)"},
        Malformed{"a{x=\"1\",x=\"2\"} 1\n", "line 1: duplicate label names in 'a'"},
        Malformed{"a{__name__=\"b\"} 1\n", "line 1: label name __name__ is reserved"},
        Malformed{"a{x=\"\xc3\x28\"} 1\n", "line 1: value of label 'x' is not UTF-8"},
        Malformed{"# HELP a bad \\t escape\n",
                  "line 1: invalid escape sequence in HELP text: '\\x5ct'"},
        Malformed{"# HELP a trailing \\\n",
                  "line 1: invalid escape sequence in HELP text: '\\x5c'"},
        Malformed{"# HELP a one\n# HELP a two\n", "line 2: second HELP line for 'a'"},
        Malformed{"# TYPE a gauge\n# TYPE a gauge\n",
                  "line 2: second TYPE line for 'a', or TYPE after its samples"},
        Malformed{"a 1\n# TYPE a gauge\n",
                  "line 2: second TYPE line for 'a', or TYPE after its samples"},
        Malformed{"# TYPE h histogram\n# TYPE h_sum gauge\n",
                  "line 2: second TYPE line for 'h', or TYPE after its samples"},
        Malformed{"# TYPE a countr\n", "line 1: unknown metric type 'countr'"},
        Malformed{"# TYPE 9a gauge\n", "line 1: invalid metric name in TYPE line: '9a gauge'"},
        Malformed{"# TYPE h histogram\nh_bucket 1\n",
                  "line 2: histogram bucket without an le label in 'h_bucket'"},
        Malformed{"# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
                  "line 2: the le label is not a float in 'h_bucket'"},
        Malformed{"# TYPE h histogram\nh 1\n",
                  "line 2: a histogram's samples must be named _bucket, _sum or _count in 'h'"},
        Malformed{"# TYPE s summary\ns 1\n",
                  "line 2: summary quantile without a quantile label in 's'"},
        Malformed{"# TYPE s summary\ns_sum{quantile=\"p99\"} 1\n",
                  "line 2: the quantile label is not a float in 's_sum'"},
        Malformed{std::string("a 1\0\n", 5), "line 1: invalid value '1\\x00'"}));

TEST(ExpositionValueTest, AcceptsWhatGoParseFloatAccepts) {
  for (const char* ok : {"0",
                         "-0",
                         "+1",
                         "1.",
                         ".5",
                         "-.5e-3",
                         "1E+05",
                         "007",
                         "1e308",
                         "1e-400",
                         "0e99999999999999999999",
                         "Inf",
                         "+Inf",
                         "-inf",
                         "infinity",
                         "-Infinity",
                         "NaN",
                         "nan",
                         "1.7976931348623157e308",
                         "0.0000000000000000000000000000000000001e-300"}) {
    EXPECT_TRUE(isValidSampleValue(ok)) << ok;
  }
  for (const char* bad : {"",
                          "+",
                          ".",
                          "e5",
                          "1e",
                          "1e+",
                          "1.2.3",
                          "0x10",
                          "0x1p3",
                          "1_000",
                          "+NaN",
                          "-nan",
                          "nan(1)",
                          "in",
                          "infinit",
                          "1e400",
                          "-1e309",
                          "1.8e308",
                          "100000000000000000000e300",
                          " 1",
                          "1 ",
                          "1f"}) {
    EXPECT_FALSE(isValidSampleValue(bad)) << bad;
  }
}

TEST(ExpositionValueTest, LabelValuesMustBeUtf8AsGoChecksIt) {
  EXPECT_EQ(parseOk("a{v=\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"} 1\n").size(), 1u);
  // Overlong '/', a surrogate, above U+10FFFF, cut short, a stray continuation byte.
  for (const std::string bad :
       {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\x80"}) {
    EXPECT_EQ(parseError("a{v=\"" + bad + "\"} 1\n"), "line 1: value of label 'v' is not UTF-8");
  }
}

TEST(ExpositionValueTest, NameGrammar) {
  EXPECT_TRUE(isValidMetricName("a:b_c9"));
  EXPECT_TRUE(isValidMetricName(":a"));
  EXPECT_FALSE(isValidMetricName("9a"));
  EXPECT_FALSE(isValidMetricName(""));
  EXPECT_FALSE(isValidMetricName("a-b"));
  EXPECT_TRUE(isValidLabelName("_a9"));
  EXPECT_FALSE(isValidLabelName("a:b"));
  EXPECT_FALSE(isValidLabelName("9"));
}

TEST(ExpositionPromtoolTest, MergedOutputPassesCheckMetrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "no promtool";
  const std::string embed_text =
      "# HELP sb_requests_total Requests handled, by route and status.\n"
      "# TYPE sb_requests_total counter\n"
      "sb_requests_total{route=\"/v1/embeddings\",status=\"200\",instance=\"pod \\\"7\\\"\"} 88\n"
      "# HELP sb_cache_hits_total Cache hits.\\nBy tier.\n"
      "# TYPE sb_cache_hits_total counter\n"
      "sb_cache_hits_total{tier=\"redis\"} 12 1712345678901\n"
      "# HELP sb_request_duration_seconds Request latency.\n"
      "# TYPE sb_request_duration_seconds histogram\n"
      "sb_request_duration_seconds_count{route=\"/v1/embeddings\"} 88\n"
      "sb_request_duration_seconds_sum{route=\"/v1/embeddings\"} 4.25\n"
      "sb_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"0.005\"} 1\n"
      "sb_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"0.1\"} 80\n"
      "sb_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"+Inf\"} 88\n";
  std::vector<Source> sources;
  sources.push_back(Source{{{"service", "infer"}, {"instance", "infer-1"}}, parseOk(kInferText)});
  sources.push_back(Source{{{"service", "infer"}, {"instance", "infer-2"}}, parseOk(kInferText)});
  sources.push_back(Source{{{"service", "embed"}, {"instance", "embed-1"}}, parseOk(embed_text)});
  MergeStats stats;
  const std::string merged = renderMerged(sources, &stats);
  ASSERT_EQ(stats.dropped_families, 0u);
  ASSERT_EQ(stats.dropped_samples, 0u);
  // The histogram's samples of all three sources under one TYPE line.
  EXPECT_EQ(merged.find("# TYPE sb_request_duration_seconds histogram"),
            merged.rfind("# TYPE sb_request_duration_seconds histogram"));
  EXPECT_NE(merged.find("exported_instance=\"pod \\\"7\\\"\""), std::string::npos) << merged;

  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/exposition_merged.prom";
  const std::string report = dir + "/exposition_promtool.txt";
  {
    std::ofstream out(path, std::ios::binary);
    out << merged;
  }
  const int status =
      std::system(("promtool check metrics < '" + path + "' > '" + report + "' 2>&1").c_str());
  std::ifstream in(report);
  std::stringstream said;
  said << in.rdbuf();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << said.str() << "\n" << merged;
  std::remove(path.c_str());
  std::remove(report.c_str());

  // And it reads back as the same samples.
  const auto back = parseOk(merged);
  EXPECT_EQ(sampleCount(back),
            2 * sampleCount(sources[0].families) + sampleCount(sources[2].families));
  const Family* hist = findFamily(back, "sb_request_duration_seconds");
  ASSERT_NE(hist, nullptr);
  EXPECT_EQ(hist->samples.size(), 15u);
}

}  // namespace
}  // namespace sb::health
