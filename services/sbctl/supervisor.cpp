#include "supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "loopback_probe.h"
#include "sb/core/frames.h"
#include "sb/core/options.h"

namespace sb::ctl {

using nlohmann::json;

namespace {

constexpr Millis kPingEvery{100};

}  // namespace

Supervisor::Supervisor(EventLoop& loop, zmq::context_t& context, Topology topology,
                       SupervisorOptions options)
    : loop_(loop),
      context_(context),
      topology_(std::move(topology)),
      options_(std::move(options)),
      control_(context, zmq::socket_type::router) {
  control_.set(zmq::sockopt::linger, 0);
}

Supervisor::~Supervisor() {
  control_watch_.cancel();
  // Whatever is still running dies with us (PR_SET_PDEATHSIG); no callback runs from here.
  for (auto& [name, in] : instances_) {
    for (int fd : {in->child.pidfd, in->child.output, in->child.ready}) {
      if (fd >= 0) close(fd);
    }
  }
  if (!redis_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(redis_dir_, ec);
  }
}

const char* Supervisor::stateName(State s) {
  switch (s) {
    case State::kStarting:
      return "starting";
    case State::kReady:
      return "running";
    case State::kStopping:
      return "stopping";
    case State::kBackoff:
      return "restarting";
    case State::kStopped:
      return "stopped";
    case State::kFailed:
      return "failed";
  }
  return "?";
}

bool Supervisor::start() {
  {
    // Is a suite already answering there? (Binding an ipc endpoint would take it over.)
    zmq::socket_t probe(context_, zmq::socket_type::dealer);
    probe.set(zmq::sockopt::linger, 0);
    probe.connect(options_.control);
    probe.send(zmq::buffer(std::string(R"({"cmd":"ps"})")), zmq::send_flags::dontwait);
    zmq::pollitem_t item{probe.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(300)) > 0) {
      spdlog::error("a suite is already up on {} (sbctl ps, sbctl down)", options_.control);
      return false;
    }
  }
  try {
    control_.bind(options_.control);
  } catch (const zmq::error_t& e) {
    spdlog::error("cannot bind the control socket {}: {}", options_.control, e.what());
    return false;
  }
  // Whoever can connect can stop the suite: only this user (whatever the umask made it).
  const std::string ipc = "ipc://";
  if (options_.control.rfind(ipc, 0) == 0 &&
      ::chmod(options_.control.substr(ipc.size()).c_str(), 0600) != 0) {
    spdlog::error("cannot restrict the control socket {} to its owner", options_.control);
    return false;
  }
  control_watch_ = loop_.addSocket(control_, [this] { onControl(); });

  std::vector<std::string> order;
  if (auto err = startOrder(topology_, order)) {
    spdlog::error("{}", *err);
    return false;
  }
  levels_.emplace_back();
  if (topology_.redis.embedded) {
    if (redisAnswers(topology_.redis.port)) {
      spdlog::info("using the redis-server already answering on 127.0.0.1:{}",
                   topology_.redis.port);
    } else {
      levels_[0].push_back("redis");
      counts_["redis"] = 1;
      width_ = std::max(width_, std::string("redis-1").size());
    }
  }
  for (auto& level : startLevels(topology_, order)) levels_.push_back(level);
  for (const auto& s : topology_.services) {
    counts_[s.name] = s.instances;
    width_ = std::max(width_, s.name.size() + 1 + std::to_string(s.instances).size());
  }
  spdlog::set_pattern(fmt::format("{:<{}} | %v", "sbctl", width_));
  spdlog::info("control socket {}", options_.control);
  loop_.post([this] { startLevel(0); });
  return true;
}

void Supervisor::onSignal(int signo) {
  if (stopping_) {
    spdlog::warn("signal {} while stopping: killing what is left", signo);
    killEverything();
    return;
  }
  spdlog::info("signal {}: stopping (workers drain; a second signal kills)", signo);
  shutdown(0);
}

// ---- instances ----

const ServiceSpec* Supervisor::spec(const std::string& service) const {
  for (const auto& s : topology_.services) {
    if (s.name == service) return &s;
  }
  return nullptr;
}

Supervisor::InstancePtr Supervisor::makeInstance(const std::string& service, int index) {
  std::string name = service + "-" + std::to_string(index);
  auto it = instances_.find(name);
  if (it != instances_.end()) return it->second;
  auto in = std::make_shared<Instance>(options_.restart);
  in->name = name;
  in->service = service;
  in->index = index;
  width_ = std::max(width_, name.size());
  instances_[name] = in;
  return in;
}

std::vector<Supervisor::InstancePtr> Supervisor::instancesOf(const std::string& service) const {
  std::vector<InstancePtr> out;
  for (const auto& [name, in] : instances_) {
    if (in->service == service) out.push_back(in);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->index < b->index; });
  return out;
}

ChildSpec Supervisor::childSpec(const Instance& in) const {
  ChildSpec c;
  if (in.service == "redis") {
    c.program = "redis-server";
    c.args = {"--port",       std::to_string(topology_.redis.port),
              "--bind",       "127.0.0.1",
              "--save",       "",
              "--appendonly", "no",
              "--dir",        redis_dir_};
    return c;
  }
  const ServiceSpec& s = *spec(in.service);
  c.program = s.program;
  c.args = instanceArgs(s, in.index);
  c.env = s.env;
  // Our programs say when they serve (--ready-fd); others count as ready once started.
  c.ready_fd = s.program.rfind("sb-", 0) == 0;
  return c;
}

void Supervisor::spawn(const InstancePtr& in) {
  if (in->service == "redis" && redis_dir_.empty()) {
    char tmpl[] = "/tmp/sbctl-redis-XXXXXX";
    if (mkdtemp(tmpl)) redis_dir_ = tmpl;
  }
  std::string error;
  ChildSpec cs = childSpec(*in);
  std::optional<Child> child = spawnChild(cs, options_.bin_dir, error);
  std::weak_ptr<Instance> w = in;
  in->started = loop_.now();
  in->policy.started(loop_.now());
  if (!child) {
    spdlog::error("{}: cannot start: {}", in->name, error);
    in->state = State::kFailed;
    auto waiters = std::move(in->on_ready);
    for (auto& f : waiters) f(false);
    return;
  }
  in->child = *child;
  in->state = State::kStarting;
  spdlog::info("{}: started, pid {}", in->name, in->child.pid);
  in->exit_watch = loop_.addFd(in->child.pidfd, POLLIN, [this, w](short) { onExit(w); });
  in->out_watch = loop_.addFd(in->child.output, POLLIN, [this, w](short) { onOutput(w); });
  if (in->child.ready >= 0) {
    in->ready_watch = loop_.addFd(in->child.ready, POLLIN, [this, w](short) { onReadyPipe(w); });
  } else if (in->service == "redis") {
    in->timer = loop_.every(kPingEvery, [this, w] { pingRedis(w); });
  } else {
    loop_.post([this, w] {
      if (auto p = w.lock()) becameReady(*p);
    });
  }
  in->deadline = loop_.after(options_.ready_timeout, [this, w] {
    auto p = w.lock();
    if (!p || p->state != State::kStarting) return;
    spdlog::error("{}: not ready after {} ms: killing it", p->name, options_.ready_timeout.count());
    kill(-p->child.pid, SIGKILL);  // its exit counts as a crash
  });
}

void Supervisor::print(const std::string& who, std::string_view line) {
  std::string out = fmt::format("{:<{}} | {}\n", who, width_, line);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

void Supervisor::onOutput(const std::weak_ptr<Instance>& w) {
  auto in = w.lock();
  if (!in || in->child.output < 0) return;
  char buf[16384];
  while (true) {
    ssize_t n = read(in->child.output, buf, sizeof(buf));
    if (n > 0) {
      in->out_buf.append(buf, static_cast<size_t>(n));
      size_t start = 0, nl;
      while ((nl = in->out_buf.find('\n', start)) != std::string::npos) {
        print(in->name, std::string_view(in->out_buf).substr(start, nl - start));
        start = nl + 1;
      }
      in->out_buf.erase(0, start);
      if (in->out_buf.size() > 65536) {  // a line without end: print it in pieces
        print(in->name, in->out_buf);
        in->out_buf.clear();
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // End of output (the child and whatever it started are gone).
    if (!in->out_buf.empty()) print(in->name, in->out_buf);
    in->out_buf.clear();
    in->out_watch.cancel();
    close(in->child.output);
    in->child.output = -1;
    return;
  }
}

void Supervisor::onReadyPipe(const std::weak_ptr<Instance>& w) {
  auto in = w.lock();
  if (!in || in->child.ready < 0) return;
  char buf[512];
  ssize_t n = read(in->child.ready, buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) in->ready_buf.append(buf, static_cast<size_t>(n));
  bool line = in->ready_buf.find('\n') != std::string::npos;
  if (n > 0 && !line) return;
  in->ready_watch.cancel();
  close(in->child.ready);
  in->child.ready = -1;
  in->ready_buf.clear();
  if (line) becameReady(*in);  // (closed without a line: its exit tells why)
}

void Supervisor::pingRedis(const std::weak_ptr<Instance>& w) {
  auto in = w.lock();
  if (in && in->state == State::kStarting && redisAnswers(topology_.redis.port)) {
    becameReady(*in);
  }
}

void Supervisor::becameReady(Instance& in) {
  if (in.state != State::kStarting) return;
  in.state = State::kReady;
  in.deadline.cancel();
  in.timer.cancel();
  spdlog::info("{}: ready", in.name);
  auto waiters = std::move(in.on_ready);
  for (auto& f : waiters) f(true);
}

void Supervisor::onExit(const std::weak_ptr<Instance>& w) {
  auto in = w.lock();
  if (!in) return;
  int status = 0;
  if (waitpid(in->child.pid, &status, WNOHANG) <= 0) return;
  in->exit_watch.cancel();
  close(in->child.pidfd);
  in->child.pidfd = -1;
  onOutput(w);  // what it printed last
  if (in->child.ready >= 0) {
    in->ready_watch.cancel();
    close(in->child.ready);
    in->child.ready = -1;
  }
  in->deadline.cancel();
  in->timer.cancel();
  in->last_exit = describeExit(status);
  in->child.pid = -1;
  if (!in->wanted || in->state == State::kStopping || stopping_) {
    in->state = State::kStopped;
    spdlog::info("{}: stopped ({})", in->name, in->last_exit);
    auto waiters = std::move(in->on_exit);
    for (auto& f : waiters) f();
    return;
  }
  std::optional<Millis> wait = in->policy.crashed(loop_.now());
  if (!wait) {
    in->state = State::kFailed;
    spdlog::error("{}: {}; gave up after {} restarts", in->name, in->last_exit,
                  in->policy.restarts());
    auto ready_waiters = std::move(in->on_ready);
    for (auto& f : ready_waiters) f(false);
    return;
  }
  in->state = State::kBackoff;
  spdlog::warn("{}: {}; restarting in {} ms (restart {})", in->name, in->last_exit, wait->count(),
               in->policy.restarts());
  in->timer = loop_.after(*wait, [this, w] {
    if (auto p = w.lock(); p && p->state == State::kBackoff) spawn(p);
  });
}

// ---- groups ----

void Supervisor::startAll(const std::vector<InstancePtr>& list, Done done) {
  struct Count {
    size_t left;
    bool ok = true;
    Done done;
  };
  auto count = std::make_shared<Count>(Count{list.size(), true, std::move(done)});
  if (list.empty()) {
    loop_.post([count] { count->done(true); });
    return;
  }
  for (const auto& in : list) {
    in->wanted = true;
    in->on_ready.emplace_back([count](bool ok) {
      count->ok = count->ok && ok;
      if (--count->left == 0) count->done(count->ok);
    });
    if (in->state == State::kStopped || in->state == State::kFailed) spawn(in);
  }
}

void Supervisor::stopAll(const std::vector<InstancePtr>& list, std::function<void()> done) {
  struct Count {
    size_t left;
    std::function<void()> done;
  };
  auto count = std::make_shared<Count>(Count{list.size(), std::move(done)});
  if (list.empty()) {
    loop_.post([count] { count->done(); });
    return;
  }
  for (const auto& in : list) {
    in->wanted = false;
    auto arrive = [count] {
      if (--count->left == 0) count->done();
    };
    if (in->state == State::kStopped || in->state == State::kFailed ||
        in->state == State::kBackoff) {
      in->timer.cancel();
      in->state = in->state == State::kFailed ? State::kFailed : State::kStopped;
      auto waiters = std::move(in->on_ready);
      for (auto& f : waiters) f(false);
      loop_.post(arrive);
      continue;
    }
    in->on_exit.emplace_back(arrive);
    if (in->state == State::kStopping) continue;  // already asked
    in->state = State::kStopping;
    in->deadline.cancel();
    kill(in->child.pid, SIGTERM);  // the process drains, then exits
    std::weak_ptr<Instance> w = in;
    in->deadline = loop_.after(options_.stop_timeout, [w, this] {
      auto p = w.lock();
      if (!p || p->child.pid <= 0) return;
      spdlog::warn("{}: still running {} ms after SIGTERM: SIGKILL", p->name,
                   options_.stop_timeout.count());
      kill(-p->child.pid, SIGKILL);
    });
  }
}

void Supervisor::startLevel(size_t level) {
  if (stopping_) return;
  if (level == levels_.size()) {
    up_ = true;
    spdlog::info("all {} instance(s) ready", instances_.size());
    if (!topology_.banner.empty()) std::fputs(("\n" + topology_.banner + "\n\n").c_str(), stdout);
    std::fflush(stdout);
    notifyReady(options_.ready_fd, "up");
    return;
  }
  std::vector<InstancePtr> list;
  for (const auto& service : levels_[level]) {
    for (int i = 1; i <= counts_[service]; ++i) list.push_back(makeInstance(service, i));
  }
  startAll(list, [this, level](bool ok) {
    if (stopping_) return;
    if (!ok) {
      spdlog::error("the suite could not start (see above); stopping what runs");
      shutdown(1);
      return;
    }
    startLevel(level + 1);
  });
}

void Supervisor::shutdown(int code) {
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = code;
  stopLevel(levels_.size());
}

void Supervisor::stopLevel(size_t level) {
  if (level == 0) {
    spdlog::info("stopped");
    for (const auto& client : down_waiters_) reply(client, {{"ok", true}, {"message", "stopped"}});
    down_waiters_.clear();
    loop_.stop();
    return;
  }
  std::vector<InstancePtr> list;
  for (const auto& service : levels_[level - 1]) {
    for (auto& in : instancesOf(service)) list.push_back(in);
  }
  stopAll(list, [this, level] { stopLevel(level - 1); });
}

void Supervisor::killEverything() {
  for (auto& [name, in] : instances_) {
    if (in->child.pid > 0) {
      kill(-in->child.pid, SIGKILL);
      int status = 0;
      waitpid(in->child.pid, &status, 0);
      in->child.pid = -1;
      in->state = State::kStopped;
    }
  }
  exit_code_ = 1;
  loop_.stop();
}

// ---- control socket ----

void Supervisor::reply(const std::string& client, const json& body) {
  std::string text = body.dump();
  zmq::message_t parts[2] = {frame(client), frame(text)};
  sendMessage(control_, parts);
}

void Supervisor::onControl() {
  while (true) {
    std::vector<zmq::message_t> parts;
    bool too_many = false;
    size_t n = recvMessage(control_, parts, 2, too_many);
    if (n == 0) return;
    if (n != 2 || too_many) continue;
    std::string client = parts[0].to_string();
    json req = json::parse(parts[1].to_string_view(), nullptr, false);
    std::string cmd = req.is_object() ? req.value("cmd", "") : "";
    if (cmd == "ps") {
      reply(client, ps());
      continue;
    }
    if (cmd == "down") {
      down_waiters_.push_back(client);
      spdlog::info("sbctl down: stopping");
      shutdown(0);
      continue;
    }
    if (cmd != "scale" && cmd != "restart") {
      reply(client, {{"ok", false}, {"error", "unknown command (ps, scale, restart, down)"}});
      continue;
    }
    std::string service = req.value("service", "");
    std::string refusal;
    if (stopping_) refusal = "the suite is stopping";
    if (!up_) refusal = "the suite is still starting";
    if (!busy_.empty()) refusal = "busy: " + busy_ + " is in progress";
    if (!spec(service)) refusal = "no service '" + service + "' in the topology";
    int count = req.value("instances", -1);
    if (cmd == "scale" && (count < 0 || count > 64)) refusal = "instances must be 0..64";
    if (!refusal.empty()) {
      reply(client, {{"ok", false}, {"error", refusal}});
      continue;
    }
    busy_ = cmd;
    busy_ += " " + service;
    auto done = [this, client](const json& r) {
      busy_.clear();
      reply(client, r);
    };
    if (cmd == "scale") {
      scale(service, count, done);
    } else {
      restart(service, done);
    }
  }
}

json Supervisor::ps() const {
  json list = json::array();
  TimePoint now = loop_.now();
  for (const auto& [name, in] : instances_) {
    const ServiceSpec* s = in->service == "redis" ? nullptr : spec(in->service);
    int admin = s && s->admin_port ? s->admin_port + in->index - 1 : 0;
    bool running = in->child.pid > 0;
    int64_t uptime = std::chrono::duration_cast<Millis>(now - in->started).count() / 1000;
    list.push_back(json{{"name", in->name},
                        {"service", in->service},
                        {"pid", running ? in->child.pid : 0},
                        {"state", stateName(in->state)},
                        {"restarts", in->policy.restarts()},
                        {"uptime_s", running ? uptime : 0},
                        {"admin_port", admin},
                        {"last_exit", in->last_exit}});
  }
  return {{"ok", true}, {"instances", list}};
}

void Supervisor::scale(const std::string& service, int count,
                       const std::function<void(json)>& done) {
  int before = counts_[service];
  counts_[service] = count;
  if (count >= before) {
    std::vector<InstancePtr> added;
    for (int i = before + 1; i <= count; ++i) added.push_back(makeInstance(service, i));
    spdlog::info("scale {}: {} -> {}", service, before, count);
    startAll(added, [done, service, count](bool ok) {
      if (!ok) {
        done({{"ok", false}, {"error", "an instance of " + service + " failed to start"}});
        return;
      }
      done({{"ok", true}, {"message", service + " has " + std::to_string(count) + " instance(s)"}});
    });
    return;
  }
  std::vector<InstancePtr> surplus;
  for (auto& in : instancesOf(service)) {
    if (in->index > count) surplus.push_back(in);
  }
  spdlog::info("scale {}: {} -> {} (draining {})", service, before, count, surplus.size());
  std::vector<std::string> names;
  names.reserve(surplus.size());
  for (auto& in : surplus) names.push_back(in->name);
  stopAll(surplus, [this, names, done, service, count] {
    for (const auto& n : names) {
      auto it = instances_.find(n);
      if (it != instances_.end() && it->second->state == State::kStopped) instances_.erase(it);
    }
    done({{"ok", true}, {"message", service + " has " + std::to_string(count) + " instance(s)"}});
  });
}

void Supervisor::restart(const std::string& service, std::function<void(json)> done) {
  std::vector<std::string> names;
  for (auto& in : instancesOf(service)) names.push_back(in->name);
  spdlog::info("restart {}: {} instance(s), one at a time", service, names.size());
  restartNext(std::move(names), std::move(done));
}

void Supervisor::restartNext(std::vector<std::string> names, std::function<void(json)> done) {
  if (stopping_) {
    done({{"ok", false}, {"error", "the suite is stopping"}});
    return;
  }
  if (names.empty()) {
    done({{"ok", true}, {"message", "restarted"}});
    return;
  }
  std::string name = names.front();
  names.erase(names.begin());
  auto it = instances_.find(name);
  if (it == instances_.end()) {
    restartNext(std::move(names), std::move(done));
    return;
  }
  InstancePtr in = it->second;
  // Drain and wait for the exit, start a new process, wait until it is ready, then the next.
  stopAll({in}, [this, in, names, done]() mutable {
    if (stopping_) {
      done({{"ok", false}, {"error", "the suite is stopping"}});
      return;
    }
    startAll({in}, [this, in, names, done](bool ok) mutable {
      if (!ok) {
        done({{"ok", false}, {"error", in->name + " did not come back ready"}});
        return;
      }
      restartNext(std::move(names), std::move(done));
    });
  });
}

}  // namespace sb::ctl
