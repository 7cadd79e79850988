#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace sb {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Millis = std::chrono::milliseconds;
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

// Time source handed to the event loop and to pure policies so tests can script it (Envoy's
// TimeSource): a steady clock for intervals and deadlines, and the wall clock for timestamps
// that are stored or shown (a session's created_ms).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual WallTime wallNow() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return SteadyClock::now(); }
  WallTime wallNow() const override { return WallClock::now(); }
};

// A clock that moves only when told to; both readings move together. For tests and
// simulations (EventLoop::advance drives it timer by timer).
class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  WallTime wallNow() const override { return wall_; }
  void advance(SteadyClock::duration d) {
    now_ += d;
    wall_ += std::chrono::duration_cast<WallClock::duration>(d);
  }

 private:
  TimePoint now_{std::chrono::hours(1)};
  WallTime wall_{std::chrono::hours(24 * 365 * 56)};  // some day in 2026
};

// Milliseconds since the Unix epoch of a wall-clock reading.
inline int64_t unixMillis(WallTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

// Random source handed to the event loop and to policies (tie breaking, jitter, generated
// ids), seedable for tests.
class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t next() = 0;
  // Uniform in [0, n), n > 0.
  uint64_t below(uint64_t n) { return next() % n; }
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : gen_(seed) {}
  uint64_t next() override { return gen_(); }

 private:
  std::mt19937_64 gen_;
};

// A seed from the operating system, for production random sources.
inline uint64_t osSeed() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

}  // namespace sb
