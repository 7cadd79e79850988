#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace sb {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Millis = std::chrono::milliseconds;

// Time source handed to pure policies so tests can script it (Envoy's TimeSource).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return SteadyClock::now(); }
};

// A clock that moves only when told to; for tests and simulations.
class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(SteadyClock::duration d) { now_ += d; }

 private:
  TimePoint now_{std::chrono::hours(1)};
};

// Random source handed to policies (tie breaking), seedable for tests.
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

}  // namespace sb
