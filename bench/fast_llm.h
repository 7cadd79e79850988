#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sb::bench {

// A fast OpenAI-speaking backend on its own thread: one epoll loop, keep-alive, answers
// POST /v1/chat/completions with a fixed short answer (SSE in chunked encoding when the
// body asks for "stream": true, else one chat.completion with a length). The stand-in for an
// LLM server that costs nothing, so what the benchmarks see is the proxies in front of it.
//
// It records the hand-off gap: the time from the moment it has nothing in flight (a
// response's last byte written) to the next request's arrival. With one request allowed at
// a time in front of it (a GPU slot), that is the dead time a proxy adds between requests.
struct FastLlmOptions {
  int tokens = 5;                           // content pieces per answer
  std::chrono::microseconds first_token{};  // wait before the head and the first piece
  std::chrono::microseconds rest{};         // then wait before the other pieces and the end
};

class FastLlm {
 public:
  explicit FastLlm(FastLlmOptions o = {});
  ~FastLlm();
  FastLlm(const FastLlm&) = delete;
  FastLlm& operator=(const FastLlm&) = delete;

  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  struct Stats {
    uint64_t requests = 0;
    uint64_t connections = 0;     // accepted
    std::vector<double> gaps_us;  // hand-off gaps
    double busy_us = 0;           // summed request-to-last-byte time of finished answers
    uint64_t answered = 0;
  };
  // What was recorded since the last call.
  Stats take();

 private:
  struct Impl;
  void run();

  FastLlmOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  Stats stats_;
  std::thread thread_;
};

}  // namespace sb::bench
