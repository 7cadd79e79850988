#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace sb::health {

// Milliseconds on whatever clock the caller scrapes with; these classes never read a clock.
using TimePointMs = int64_t;

// One scrape of a Prometheus histogram: cumulative counts that only grow until the source
// process restarts and they start again from zero.
struct HistogramSnapshot {
  TimePointMs t = 0;
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count), ascending, last +Inf
  double sum = 0;
  double count = 0;
};

// Quantiles, rate and mean of the observations made in the last `window_ms`, from snapshots
// of a cumulative histogram (what histogram_quantile(q, rate(h_bucket[5m])) computes, without
// Prometheus's extrapolation to the window's edges).
//
// The window runs from the newest snapshot (or advanceTo()'s time, if later) back window_ms;
// the newest snapshot at or before its start is kept as the baseline, so a window always spans
// whole scrape intervals. A restart (the count or any bucket went down) counts the new values
// as the step's increase, as rate() does. A change of bucket layout starts the window afresh
// from that snapshot: increases across different layouts cannot be subtracted.
//
// Each snapshot is kept as running totals, so queries cost O(buckets) however many snapshots
// the window holds; at most `max_snapshots` are kept (the oldest go first, shortening the
// window), which bounds memory if the caller adds snapshots faster than expected.
// Not thread-safe.
class HistogramWindow {
 public:
  explicit HistogramWindow(int64_t window_ms, size_t max_snapshots = 4096);

  // False, and nothing changes, if the snapshot is not after the previous one, or is not a
  // histogram: no buckets, bounds not strictly ascending, last bound not +Inf, or a count
  // negative or not finite.
  bool add(const HistogramSnapshot& s);

  // Moves the window's end to `now` without a snapshot, so data ages out when scrapes stop
  // (a dead source must not report its last minutes forever).
  void advanceTo(TimePointMs now);

  // Quantile q in [0, 1] of the window's observations, interpolated linearly inside the bucket
  // as histogram_quantile() does: the first bucket starts at 0 (or is returned as is if its
  // bound is <= 0), and a rank in the +Inf bucket gives the largest finite bound. q = 0 gives
  // the lower edge of the first non-empty bucket. nullopt when the window has no observations,
  // q is outside [0, 1] or NaN, or the histogram has no finite bucket.
  std::optional<double> quantile(double q) const;

  // Observations per second between the baseline and the newest snapshot; nullopt with fewer
  // than two snapshots in the window.
  std::optional<double> rate() const;

  // Average observed value (sum increase / count increase); nullopt without observations.
  std::optional<double> mean() const;

  // Observations (count increase) in the window; 0 with fewer than two snapshots.
  double observations() const;

  size_t snapshots() const { return points_.size(); }

 private:
  struct Point {
    TimePointMs t;
    std::vector<double> buckets;  // increases since the run began, per bucket, restarts summed
    double count;
    double sum;
  };

  void trim();

  int64_t window_ms_;
  size_t max_snapshots_;
  TimePointMs now_ = std::numeric_limits<TimePointMs>::min();
  std::vector<double> bounds_;  // the current run's layout
  HistogramSnapshot last_;      // the newest raw snapshot, to see restarts
  std::deque<Point> points_;
};

// The same for a plain counter (requests, errors): rate and increase over the window, with
// restarts counted as rate() does.
class CounterWindow {
 public:
  explicit CounterWindow(int64_t window_ms, size_t max_points = 4096);

  // False, and nothing changes, if t is not after the previous point or the value is negative,
  // NaN or infinite.
  bool add(TimePointMs t, double value);
  void advanceTo(TimePointMs now);

  // Per second between the baseline and the newest point; nullopt with fewer than two points.
  std::optional<double> rate() const;
  double increase() const;  // 0 with fewer than two points

  size_t points() const { return points_.size(); }

 private:
  struct Point {
    TimePointMs t;
    double total;  // increases since the first point, restarts summed
  };

  void trim();

  int64_t window_ms_;
  size_t max_points_;
  TimePointMs now_ = std::numeric_limits<TimePointMs>::min();
  double last_value_ = 0;
  std::deque<Point> points_;
};

}  // namespace sb::health
