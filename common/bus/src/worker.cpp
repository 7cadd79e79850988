#include "sb/bus/worker.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "sb/core/options.h"
#include "sb/core/signals.h"
#include "worker_core.h"

namespace sb {

Worker::Worker(zmq::context_t& context, EventLoop& loop, WorkerOptions options)
    : core_(std::make_shared<WorkerCore>(context, loop, std::move(options))) {}

Worker::~Worker() = default;

void Worker::handle(std::string op, Handler handler) {
  core_->handlers_[std::move(op)] = std::move(handler);
}
void Worker::handleAdmin(std::string op, Handler handler) {
  core_->admin_handlers_[std::move(op)] = std::move(handler);
}
void Worker::start() { core_->start(); }
void Worker::drain() { core_->drain(); }
void Worker::onDrained(std::function<void()> fn) { core_->on_drained_ = std::move(fn); }
void Worker::onRegistered(std::function<void()> fn) { core_->on_registered_ = std::move(fn); }
const std::string& Worker::name() const { return core_->options().name; }
const std::string& Worker::service() const { return core_->options().service; }
WorkerStats Worker::stats() const { return core_->stats_; }
bool Worker::draining() const { return core_->draining(); }
uint32_t Worker::capacity() const { return core_->options().capacity; }
size_t Worker::registeredRouters() const { return core_->registeredRouters(); }
size_t Worker::routers() const { return core_->options().routers.size(); }
EventLoop& Worker::loop() { return core_->loop(); }

std::string defaultWorkerName(std::string_view service, Random& random) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  char suffix[8];
  snprintf(suffix, sizeof(suffix), "%04x", static_cast<unsigned>(random.next() & 0xFFFF));
  return std::string(service) + "-" + host + "-" + std::to_string(getpid()) + "-" + suffix;
}

int runWorker(Worker& worker, int& ready_fd) {
  EventLoop& loop = worker.loop();
  int exit_code = 0;
  int signals_seen = 0;
  auto signals = onTerminationSignal(loop, [&](int signo) {
    if (++signals_seen == 1) {
      spdlog::info("signal {}: draining (send again to stop at once)", signo);
      worker.drain();
    } else {
      exit_code = 1;
      loop.stop();
    }
  });
  worker.onRegistered([&] { notifyReady(ready_fd, worker.name()); });
  worker.onDrained([&] { loop.stop(); });
  worker.start();
  loop.run();
  return exit_code;
}

}  // namespace sb
