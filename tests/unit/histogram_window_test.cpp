#include "histogram_window.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace sb::health {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const std::vector<double> kBounds = {0.1, 0.5, 1, kInf};

// A snapshot with kBounds and these cumulative counts; count is the +Inf bucket's.
HistogramSnapshot snap(TimePointMs t, const std::vector<double>& cumulative, double sum = 0,
                       const std::vector<double>& bounds = kBounds) {
  HistogramSnapshot s;
  s.t = t;
  for (size_t i = 0; i < bounds.size(); ++i) s.buckets.emplace_back(bounds[i], cumulative[i]);
  s.count = cumulative.back();
  s.sum = sum;
  return s;
}

TEST(HistogramWindowTest, QuantilesInterpolateInsideTheBucketAfterTheBaseline) {
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {5, 20, 30, 40}, 10)));
  ASSERT_TRUE(w.add(snap(60'000, {15, 80, 120, 140}, 52)));
  // Increases: 10 in (0, 0.1], 50 in (0.1, 0.5], 30 in (0.5, 1], 10 above 1.
  EXPECT_DOUBLE_EQ(w.observations(), 100);
  EXPECT_DOUBLE_EQ(*w.quantile(0.05), 0.05);            // rank 5 of 10 in the first bucket
  EXPECT_DOUBLE_EQ(*w.quantile(0.5), 0.1 + 0.4 * 0.8);  // rank 40 of 50 in the second
  EXPECT_DOUBLE_EQ(*w.quantile(0.9), 1.0);              // exactly the top of the third
  EXPECT_DOUBLE_EQ(*w.quantile(0.75), 0.5 + 0.5 * (15.0 / 30.0));
  EXPECT_DOUBLE_EQ(*w.quantile(0), 0);
  EXPECT_DOUBLE_EQ(*w.rate(), 100.0 / 60.0);
  EXPECT_DOUBLE_EQ(*w.mean(), 0.42);
}

TEST(HistogramWindowTest, RankInTheInfBucketGivesTheLargestFiniteBound) {
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {0, 0, 0, 0})));
  ASSERT_TRUE(w.add(snap(1000, {10, 60, 90, 100})));
  EXPECT_DOUBLE_EQ(*w.quantile(0.99), 1.0);
  EXPECT_DOUBLE_EQ(*w.quantile(1), 1.0);
}

TEST(HistogramWindowTest, QuantileZeroIsTheLowerEdgeOfTheFirstNonEmptyBucket) {
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {0, 0, 0, 0})));
  ASSERT_TRUE(w.add(snap(1000, {0, 0, 4, 4})));
  EXPECT_DOUBLE_EQ(*w.quantile(0), 0.5);
  EXPECT_DOUBLE_EQ(*w.quantile(0.25), 0.625);
}

TEST(HistogramWindowTest, FirstBucketAtOrBelowZeroIsReturnedAsIs) {
  const std::vector<double> bounds = {-1, 2, kInf};
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {0, 0, 0}, 0, bounds)));
  ASSERT_TRUE(w.add(snap(1000, {4, 8, 8}, 0, bounds)));
  EXPECT_DOUBLE_EQ(*w.quantile(0.25), -1);
  EXPECT_DOUBLE_EQ(*w.quantile(0.75), -1 + 3 * 0.5);
}

TEST(HistogramWindowTest, NothingToSayWithoutObservations) {
  HistogramWindow w(300'000);
  EXPECT_FALSE(w.quantile(0.5).has_value());
  EXPECT_FALSE(w.rate().has_value());
  EXPECT_EQ(w.observations(), 0);
  ASSERT_TRUE(w.add(snap(0, {1, 2, 3, 4})));
  EXPECT_FALSE(w.quantile(0.5).has_value());  // one snapshot: no increase yet
  EXPECT_FALSE(w.rate().has_value());
  EXPECT_FALSE(w.mean().has_value());
  ASSERT_TRUE(w.add(snap(1000, {1, 2, 3, 4})));
  EXPECT_FALSE(w.quantile(0.5).has_value());  // no new observations
  EXPECT_DOUBLE_EQ(*w.rate(), 0);
  EXPECT_EQ(w.observations(), 0);
}

TEST(HistogramWindowTest, QuantileOutsideZeroOneIsRefused) {
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {0, 0, 0, 0})));
  ASSERT_TRUE(w.add(snap(1000, {1, 2, 3, 4})));
  EXPECT_FALSE(w.quantile(-0.1).has_value());
  EXPECT_FALSE(w.quantile(1.5).has_value());
  EXPECT_FALSE(w.quantile(std::nan("")).has_value());
}

TEST(HistogramWindowTest, OnlyAnInfBucketHasNoQuantile) {
  const std::vector<double> bounds = {kInf};
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {0}, 0, bounds)));
  ASSERT_TRUE(w.add(snap(1000, {5}, 0, bounds)));
  EXPECT_EQ(w.observations(), 5);
  EXPECT_FALSE(w.quantile(0.5).has_value());
}

TEST(HistogramWindowTest, SlidingDropsOldObservations) {
  // Fast requests (<= 0.1) for the first 90 s, then only slow ones (in (0.5, 1]).
  HistogramWindow w(60'000);
  double fast = 0;
  double slow = 0;
  for (TimePointMs t = 0; t <= 150'000; t += 30'000) {
    if (t > 0 && t <= 90'000) fast += 100;
    if (t > 90'000) slow += 100;
    ASSERT_TRUE(w.add(snap(t, {fast, fast, fast + slow, fast + slow})));
  }
  // Window [90 s, 150 s]: the baseline is the snapshot at 90 s.
  EXPECT_EQ(w.snapshots(), 3u);
  EXPECT_DOUBLE_EQ(w.observations(), 200);
  EXPECT_DOUBLE_EQ(*w.quantile(0.5), 0.75);  // all fast ones are gone
  EXPECT_DOUBLE_EQ(*w.rate(), 200.0 / 60.0);
}

TEST(HistogramWindowTest, KeepsTheNewestSnapshotAtOrBeforeTheStartAsBaseline) {
  HistogramWindow w(60'000);
  ASSERT_TRUE(w.add(snap(0, {0, 0, 0, 10})));
  ASSERT_TRUE(w.add(snap(50'000, {0, 0, 0, 20})));
  ASSERT_TRUE(w.add(snap(100'000, {0, 0, 0, 40})));
  // Start 40 s: the snapshot at 0 is the baseline, just older than the window.
  EXPECT_EQ(w.snapshots(), 3u);
  EXPECT_DOUBLE_EQ(w.observations(), 30);
  ASSERT_TRUE(w.add(snap(110'000, {0, 0, 0, 41})));
  // Start 50 s: the snapshot at exactly 50 s is now the baseline.
  EXPECT_EQ(w.snapshots(), 3u);
  EXPECT_DOUBLE_EQ(w.observations(), 21);
  EXPECT_DOUBLE_EQ(*w.rate(), 21.0 / 60.0);
}

TEST(HistogramWindowTest, AdvanceToAgesDataOutWhenScrapesStop) {
  HistogramWindow w(60'000);
  ASSERT_TRUE(w.add(snap(0, {0, 0, 0, 0})));
  ASSERT_TRUE(w.add(snap(30'000, {1, 2, 3, 4})));
  w.advanceTo(60'000);
  EXPECT_DOUBLE_EQ(w.observations(), 4);  // start 0 s: still in
  w.advanceTo(90'000);
  EXPECT_EQ(w.snapshots(), 1u);
  EXPECT_EQ(w.observations(), 0);
  EXPECT_FALSE(w.quantile(0.5).has_value());
  EXPECT_FALSE(w.rate().has_value());
  // The clock never goes back.
  w.advanceTo(10);
  ASSERT_TRUE(w.add(snap(100'000, {2, 4, 6, 8})));
  EXPECT_DOUBLE_EQ(w.observations(), 4);
}

TEST(HistogramWindowTest, RestartCountsTheNewValuesAsTheIncrease) {
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {10, 50, 90, 100}, 50)));
  ASSERT_TRUE(w.add(snap(30'000, {20, 80, 140, 150}, 75)));
  // Restarted: 15 fast observations since. The first bucket grew past its old 20 (judged
  // alone it would look like +0 or +5), but the count went down, so all 15 are new.
  ASSERT_TRUE(w.add(snap(60'000, {25, 25, 25, 25}, 1)));
  ASSERT_TRUE(w.add(snap(90'000, {35, 35, 35, 35}, 2)));
  EXPECT_DOUBLE_EQ(w.observations(), 50 + 25 + 10);
  EXPECT_DOUBLE_EQ(*w.rate(), 85.0 / 90.0);
  EXPECT_DOUBLE_EQ(*w.mean(), (25 + 1 + 1) / 85.0);
  // Cumulative increases: 10+25+10 = 45 by 0.1, 30+25+10 = 65 by 0.5, 85 by 1 and in all.
  EXPECT_DOUBLE_EQ(*w.quantile(0.5), 0.1 * (42.5 / 45));
  EXPECT_DOUBLE_EQ(*w.quantile(0.6), 0.1 + 0.4 * ((51 - 45) / 20.0));
}

TEST(HistogramWindowTest, RestartIsSeenInABucketEvenIfTheCountGrew) {
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {10, 10, 10, 10})));
  // After a restart 12 slow observations: count 12 > 10, but the first bucket fell to 0.
  ASSERT_TRUE(w.add(snap(1000, {0, 0, 12, 12})));
  EXPECT_DOUBLE_EQ(w.observations(), 12);
  EXPECT_DOUBLE_EQ(*w.quantile(0.5), 0.75);
}

TEST(HistogramWindowTest, RestartIsSeenInTheCountAlone) {
  // Count and buckets are separate lines of a scrape and can disagree; a lower count alone is
  // enough to call it a restart.
  HistogramWindow w(300'000);
  HistogramSnapshot before = snap(0, {0, 0, 0, 10});
  ASSERT_TRUE(w.add(before));
  HistogramSnapshot after = snap(1000, {0, 0, 0, 10});
  after.count = 3;
  ASSERT_TRUE(w.add(after));
  EXPECT_DOUBLE_EQ(w.observations(), 3);
}

TEST(HistogramWindowTest, InconsistentBucketsAreMadeMonotonic) {
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {0, 0, 0, 0})));
  ASSERT_TRUE(w.add(snap(1000, {10, 8, 12, 12})));  // the 0.5 bucket lags behind the 0.1 one
  // Read as {10, 10, 12, 12}: rank 10.8 is 0.8 of the way through the 2 in (0.5, 1].
  EXPECT_DOUBLE_EQ(*w.quantile(0.9), 0.5 + 0.5 * 0.4);
}

TEST(HistogramWindowTest, LayoutChangeRestartsTheWindow) {
  HistogramWindow w(300'000);
  ASSERT_TRUE(w.add(snap(0, {0, 0, 0, 0})));
  ASSERT_TRUE(w.add(snap(1000, {10, 10, 10, 10})));
  const std::vector<double> bounds = {0.2, 2, kInf};
  ASSERT_TRUE(w.add(snap(2000, {3, 3, 3}, 0, bounds)));
  EXPECT_EQ(w.snapshots(), 1u);
  EXPECT_EQ(w.observations(), 0);
  EXPECT_FALSE(w.quantile(0.5).has_value());
  ASSERT_TRUE(w.add(snap(3000, {3, 7, 7}, 0, bounds)));
  EXPECT_DOUBLE_EQ(w.observations(), 4);
  EXPECT_DOUBLE_EQ(*w.quantile(0.5), 0.2 + 1.8 * 0.5);
}

TEST(HistogramWindowTest, RefusesWhatIsNotAHistogramOrNotNewer) {
  HistogramWindow w(300'000);
  HistogramSnapshot empty;
  EXPECT_FALSE(w.add(empty));
  EXPECT_FALSE(w.add(snap(0, {1, 2, 3}, 0, {0.1, 0.5, 1})));     // no +Inf
  EXPECT_FALSE(w.add(snap(0, {1, 2, 3}, 0, {0.5, 0.1, kInf})));  // not ascending
  EXPECT_FALSE(w.add(snap(0, {1, 2, 3}, 0, {0.1, 0.1, kInf})));  // repeated bound
  EXPECT_FALSE(w.add(snap(0, {1, 2, 3}, 0, {std::nan(""), 0.1, kInf})));
  EXPECT_FALSE(w.add(snap(0, {-1, 2, 3, 4})));
  EXPECT_FALSE(w.add(snap(0, {1, 2, 3, kInf})));
  HistogramSnapshot bad_count = snap(0, {1, 2, 3, 4});
  bad_count.count = std::nan("");
  EXPECT_FALSE(w.add(bad_count));
  EXPECT_EQ(w.snapshots(), 0u);
  ASSERT_TRUE(w.add(snap(1000, {0, 0, 0, 0})));
  EXPECT_FALSE(w.add(snap(1000, {1, 1, 1, 1})));
  EXPECT_FALSE(w.add(snap(999, {1, 1, 1, 1})));
  EXPECT_EQ(w.snapshots(), 1u);
}

TEST(HistogramWindowTest, CapsTheSnapshotsKept) {
  HistogramWindow w(1'000'000, 3);
  for (TimePointMs i = 0; i < 5; ++i) {
    const double n = 10.0 * i;
    ASSERT_TRUE(w.add(snap(i * 1000, {n, n, n, n})));
  }
  EXPECT_EQ(w.snapshots(), 3u);
  EXPECT_DOUBLE_EQ(w.observations(), 20);
  EXPECT_DOUBLE_EQ(*w.rate(), 10);
}

TEST(HistogramWindowTest, ExtremeTimesDoNotOverflow) {
  HistogramWindow w(60'000);
  constexpr TimePointMs kMin = std::numeric_limits<TimePointMs>::min();
  ASSERT_TRUE(w.add(snap(kMin, {0, 0, 0, 0})));
  ASSERT_TRUE(w.add(snap(kMin + 1000, {1, 1, 1, 1})));
  EXPECT_DOUBLE_EQ(*w.rate(), 1);
}

TEST(CounterWindowTest, RateOverTheWindow) {
  CounterWindow w(60'000);
  EXPECT_FALSE(w.rate().has_value());
  ASSERT_TRUE(w.add(0, 1000));
  EXPECT_FALSE(w.rate().has_value());
  EXPECT_EQ(w.increase(), 0);
  ASSERT_TRUE(w.add(30'000, 1300));
  ASSERT_TRUE(w.add(60'000, 1600));
  EXPECT_DOUBLE_EQ(w.increase(), 600);
  EXPECT_DOUBLE_EQ(*w.rate(), 10);
  ASSERT_TRUE(w.add(90'000, 1630));  // start 30 s: the first point is dropped
  EXPECT_EQ(w.points(), 3u);
  EXPECT_DOUBLE_EQ(w.increase(), 330);
  EXPECT_DOUBLE_EQ(*w.rate(), 5.5);
}

TEST(CounterWindowTest, RestartCountsTheNewValue) {
  CounterWindow w(300'000);
  ASSERT_TRUE(w.add(0, 500));
  ASSERT_TRUE(w.add(10'000, 600));
  ASSERT_TRUE(w.add(20'000, 30));  // restarted, then 30 more
  ASSERT_TRUE(w.add(30'000, 70));
  EXPECT_DOUBLE_EQ(w.increase(), 100 + 30 + 40);
  EXPECT_DOUBLE_EQ(*w.rate(), 170.0 / 30.0);
}

TEST(CounterWindowTest, RefusesBadPointsAndAgesOut) {
  CounterWindow w(60'000);
  EXPECT_FALSE(w.add(0, -1));
  EXPECT_FALSE(w.add(0, std::nan("")));
  EXPECT_FALSE(w.add(0, kInf));
  ASSERT_TRUE(w.add(0, 1));
  EXPECT_FALSE(w.add(0, 2));
  ASSERT_TRUE(w.add(1000, 3));
  EXPECT_DOUBLE_EQ(w.increase(), 2);
  w.advanceTo(60'999);
  EXPECT_DOUBLE_EQ(w.increase(), 2);
  w.advanceTo(61'000);  // the point at 1 s is now the baseline, nothing after it
  EXPECT_EQ(w.increase(), 0);
  EXPECT_FALSE(w.rate().has_value());
}

}  // namespace
}  // namespace sb::health
