#include "echo_service.h"

#include <chrono>

#include "sb/proto/body_codec.h"

namespace sb::echo {

struct EchoService::Job {
  CallPtr call;
  double delay_ms = 0;
  uint32_t sent = 0;
  LoopHandle timer;
  bool in_service = false;
};

EchoService::EchoService(Worker& worker, EchoOptions options)
    : worker_(worker),
      options_(options),
      rng_(options.seed ? options.seed : worker.loop().random().next()),
      lognormal_(options.mu, options.sigma) {
  worker_.handle("echo", [this](const CallPtr& call) { onEcho(call); });
}

double EchoService::drawDelayMs() {
  return options_.lognormal ? lognormal_(rng_) : options_.delay_ms;
}

void EchoService::onEcho(const CallPtr& call) {
  auto job = std::make_shared<Job>();
  job->call = call;
  job->delay_ms = drawDelayMs();
  std::weak_ptr<Job> weak = job;
  call->onCancel([this, weak] {
    auto j = weak.lock();
    if (!j) return;
    j->timer.cancel();
    if (j->in_service) {
      j->in_service = false;
      release();
    } else {
      for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
        if (*it == j) {
          waiting_.erase(it);
          break;
        }
      }
    }
    j->call.reset();
  });
  if (options_.slots > 0 && busy_ >= options_.slots) {
    waiting_.push_back(job);
    return;
  }
  begin(job);
}

void EchoService::begin(const std::shared_ptr<Job>& job) {
  ++busy_;
  job->in_service = true;
  step(job);
}

// Service time is split evenly between the chunks (or spent once before the reply).
void EchoService::step(const std::shared_ptr<Job>& job) {
  uint32_t parts = options_.chunks ? options_.chunks : 1;
  auto slice = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double, std::milli>(job->delay_ms / parts));
  auto run = [this, job] {
    if (!job->call || job->call->done()) return;
    if (options_.chunks && job->sent < options_.chunks) {
      job->call->chunk(job->call->body());
      ++job->sent;
      if (job->sent < options_.chunks) {
        step(job);
        return;
      }
      std::map<std::string, uint32_t> summary{{"chunks", options_.chunks}};
      job->call->reply(proto::packBody(summary));
    } else {
      job->call->reply(job->call->body());
    }
    job->call.reset();
    job->in_service = false;
    release();
  };
  if (slice.count() <= 0) {
    run();
    return;
  }
  job->timer = worker_.loop().after(slice, run);
}

void EchoService::release() {
  --busy_;
  while (!waiting_.empty() && (options_.slots == 0 || busy_ < options_.slots)) {
    auto next = waiting_.front();
    waiting_.pop_front();
    begin(next);
  }
}

}  // namespace sb::echo
