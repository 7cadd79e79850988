#include "histogram_window.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sb::health {
namespace {

// now - window without overflow: the times are the caller's, anything may come.
TimePointMs windowStart(TimePointMs now, int64_t window_ms) {
  constexpr TimePointMs kMin = std::numeric_limits<TimePointMs>::min();
  return now < kMin + window_ms ? kMin : now - window_ms;
}

// Keeps the newest point at or before the window's start as the baseline, drops older ones,
// then enforces the cap (which only moves the baseline later).
template <class Point>
void trimPoints(std::deque<Point>& points, TimePointMs start, size_t max_points) {
  while (points.size() >= 2 && points[1].t <= start) points.pop_front();
  while (points.size() > max_points) points.pop_front();
}

// to > from always; the unsigned difference is exact where converting each to double first
// would round (doubles are 2048 apart near the ends of int64).
double seconds(TimePointMs from, TimePointMs to) {
  return static_cast<double>(static_cast<uint64_t>(to) - static_cast<uint64_t>(from)) / 1000.0;
}

bool isCount(double v) { return std::isfinite(v) && v >= 0; }

bool isValid(const HistogramSnapshot& s) {
  if (s.buckets.empty() || !isCount(s.count)) return false;
  if (s.buckets.back().first != std::numeric_limits<double>::infinity()) return false;
  for (size_t i = 0; i < s.buckets.size(); ++i) {
    const auto& [le, count] = s.buckets[i];
    if (std::isnan(le) || !isCount(count)) return false;
    if (i > 0 && !(s.buckets[i - 1].first < le)) return false;
  }
  return true;
}

bool sameLayout(const std::vector<double>& bounds, const HistogramSnapshot& s) {
  if (bounds.size() != s.buckets.size()) return false;
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (bounds[i] != s.buckets[i].first) return false;
  }
  return true;
}

}  // namespace

HistogramWindow::HistogramWindow(int64_t window_ms, size_t max_snapshots)
    : window_ms_(std::max<int64_t>(window_ms, 0)),
      max_snapshots_(std::max<size_t>(max_snapshots, 2)) {}

bool HistogramWindow::add(const HistogramSnapshot& s) {
  if (!isValid(s)) return false;
  if (!points_.empty() && s.t <= points_.back().t) return false;
  now_ = std::max(now_, s.t);

  if (points_.empty() || !sameLayout(bounds_, s)) {
    points_.clear();
    bounds_.clear();
    for (const auto& bucket : s.buckets) bounds_.push_back(bucket.first);
    points_.push_back(Point{s.t, std::vector<double>(s.buckets.size(), 0.0), 0, 0});
    last_ = s;
    return true;
  }

  // A restart shows in the count or in any bucket; judging the histogram as a whole keeps a
  // bucket that happened to grow past its old value after the restart from being misread.
  bool restart = s.count < last_.count;
  for (size_t i = 0; i < s.buckets.size() && !restart; ++i) {
    restart = s.buckets[i].second < last_.buckets[i].second;
  }
  const Point& prev = points_.back();
  Point next{s.t, prev.buckets, prev.count, prev.sum};
  for (size_t i = 0; i < s.buckets.size(); ++i) {
    next.buckets[i] +=
        restart ? s.buckets[i].second : s.buckets[i].second - last_.buckets[i].second;
  }
  next.count += restart ? s.count : s.count - last_.count;
  next.sum += restart ? s.sum : s.sum - last_.sum;
  points_.push_back(std::move(next));
  last_ = s;
  trim();
  return true;
}

void HistogramWindow::advanceTo(TimePointMs now) {
  now_ = std::max(now_, now);
  trim();
}

void HistogramWindow::trim() { trimPoints(points_, windowStart(now_, window_ms_), max_snapshots_); }

double HistogramWindow::observations() const {
  if (points_.size() < 2) return 0;
  return points_.back().count - points_.front().count;
}

std::optional<double> HistogramWindow::rate() const {
  if (points_.size() < 2) return std::nullopt;
  return observations() / seconds(points_.front().t, points_.back().t);
}

std::optional<double> HistogramWindow::mean() const {
  const double n = observations();
  if (n <= 0) return std::nullopt;
  const double m = (points_.back().sum - points_.front().sum) / n;
  if (!std::isfinite(m)) return std::nullopt;
  return m;
}

std::optional<double> HistogramWindow::quantile(double q) const {
  if (!(q >= 0 && q <= 1) || points_.size() < 2 || bounds_.size() < 2) return std::nullopt;
  const Point& from = points_.front();
  const Point& to = points_.back();
  std::vector<double> cumulative(bounds_.size());
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative[i] = to.buckets[i] - from.buckets[i];
    // Scrapes of a live histogram can be slightly inconsistent across buckets; Prometheus
    // forces the counts monotonic the same way.
    if (i > 0) cumulative[i] = std::max(cumulative[i], cumulative[i - 1]);
  }
  const double total = cumulative.back();
  if (!(total > 0)) return std::nullopt;

  double rank = q * total;
  const size_t last = bounds_.size() - 1;
  size_t b = 0;
  // For q = 0 the first bucket with count >= 0 may be empty; take the first non-empty one.
  while (b < last && (rank > 0 ? cumulative[b] < rank : cumulative[b] <= 0)) ++b;
  if (b == last) return bounds_[last - 1];
  if (b == 0 && bounds_[0] <= 0) return bounds_[0];
  double start = 0;
  double count = cumulative[b];
  if (b > 0) {
    start = bounds_[b - 1];
    count -= cumulative[b - 1];
    rank -= cumulative[b - 1];
  }
  return start + (bounds_[b] - start) * (rank / count);
}

CounterWindow::CounterWindow(int64_t window_ms, size_t max_points)
    : window_ms_(std::max<int64_t>(window_ms, 0)), max_points_(std::max<size_t>(max_points, 2)) {}

bool CounterWindow::add(TimePointMs t, double value) {
  if (!isCount(value)) return false;
  if (points_.empty()) {
    points_.push_back(Point{t, 0});
    now_ = std::max(now_, t);
    last_value_ = value;
    return true;
  }
  if (t <= points_.back().t) return false;
  // After a restart the counter began again at 0, so all of its value is new.
  const double increase = value < last_value_ ? value : value - last_value_;
  points_.push_back(Point{t, points_.back().total + increase});
  last_value_ = value;
  now_ = std::max(now_, t);
  trim();
  return true;
}

void CounterWindow::advanceTo(TimePointMs now) {
  now_ = std::max(now_, now);
  trim();
}

void CounterWindow::trim() { trimPoints(points_, windowStart(now_, window_ms_), max_points_); }

double CounterWindow::increase() const {
  if (points_.size() < 2) return 0;
  return points_.back().total - points_.front().total;
}

std::optional<double> CounterWindow::rate() const {
  if (points_.size() < 2) return std::nullopt;
  return increase() / seconds(points_.front().t, points_.back().t);
}

}  // namespace sb::health
