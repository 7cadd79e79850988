#pragma once

#include <sys/types.h>

#include <string>

#include <zmq.hpp>

#include "sb/bus/curve.h"

namespace sb::bench {

struct Options {
  int seconds = 5;
  int runs = 3;
  int clients = 4;
  int inflight = 64;
  int body = 100;
  CurveClientKeys curve;  // the clients' CURVE keys (a router running CURVE)
};

struct Measured {
  double rps = 0;
  double broker_cpu_us = 0;  // broker CPU per round trip
};

// Closed loop through a broker at `frontend` to echo workers: each of `o.clients` threads keeps
// `o.inflight` requests of `o.body` bytes outstanding; round trips per second and the broker
// process's CPU time per round trip over `o.seconds` (after a one-second warm-up).
Measured throughput(zmq::context_t& ctx, const std::string& frontend, const Options& o,
                    pid_t broker);

}  // namespace sb::bench
