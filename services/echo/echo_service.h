#pragma once

#include <deque>
#include <memory>
#include <random>

#include "sb/bus/worker.h"

namespace sb::echo {

struct EchoOptions {
  uint32_t chunks = 0;     // 0: one reply; N: N chunks (each the body), then a reply
  double delay_ms = 0;     // fixed service time
  bool lognormal = false;  // draw the service time from exp(N(mu, sigma)) ms instead
  double mu = 0;
  double sigma = 0;
  uint32_t slots = 0;  // requests in service at once (others wait, FIFO); 0 = all
  uint64_t seed = 0;   // 0: random
};

// The echo service: answers op "echo" with the request body after a service time, optionally
// as N chunks. With `slots` it models a backend that serves a few requests at a time (a GPU),
// which is what makes least-connection matter.
class EchoService {
 public:
  EchoService(Worker& worker, EchoOptions options);

  double drawDelayMs();

 private:
  struct Job;
  void onEcho(const CallPtr& call);
  void begin(const std::shared_ptr<Job>& job);
  void step(const std::shared_ptr<Job>& job);
  void release();

  Worker& worker_;
  EchoOptions options_;
  std::mt19937_64 rng_;
  std::lognormal_distribution<double> lognormal_;
  uint32_t busy_ = 0;
  std::deque<std::shared_ptr<Job>> waiting_;
};

}  // namespace sb::echo
