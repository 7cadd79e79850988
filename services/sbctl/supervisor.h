#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "child_process.h"
#include "restart_policy.h"
#include "sb/core/event_loop.h"
#include "topology.h"

namespace sb::ctl {

struct SupervisorOptions {
  std::string control;          // ipc:// endpoint of the control socket (sbctl ps, scale, ...)
  std::string bin_dir;          // where sb-* programs are
  Millis ready_timeout{30000};  // a start not ready by then is killed (and restarted)
  Millis stop_timeout{90000};   // a stop not done by then is finished with SIGKILL
  RestartPolicy::Options restart;
  int ready_fd = -1;  // written once the whole suite is up
};

// `sbctl up`: runs a topology on one machine. Starts the services level by level (each after
// what it names in `after`), waits for each instance's readiness line (--ready-fd; PING for the
// embedded redis-server), prefixes every line the children print with their instance name,
// restarts crashed instances (RestartPolicy), and stops everything in reverse order (drain
// first: SIGTERM, then SIGKILL after stop_timeout) on SIGINT/SIGTERM or `sbctl down`.
// Operators act on it through the control socket: ps, scale, restart, down.
//
// Instances live in a map of shared_ptrs; every callback holds a weak_ptr or a name, never a
// raw pointer into the map (docs/lifetimes.md).
class Supervisor {
 public:
  Supervisor(EventLoop& loop, zmq::context_t& context, Topology topology,
             SupervisorOptions options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Binds the control socket and starts the suite; false (with the reason printed) when the
  // control socket is taken or the topology cannot be ordered.
  bool start();
  // SIGINT/SIGTERM: the first stops everything in order, a second kills what is left.
  void onSignal(int signo);
  // The exit code once the loop stopped: 0 after a stop asked for, 1 if the suite failed.
  int exitCode() const { return exit_code_; }

 private:
  enum class State { kStarting, kReady, kStopping, kBackoff, kStopped, kFailed };
  struct Instance {
    std::string name, service;
    int index = 0;
    State state = State::kStopped;
    bool wanted = true;  // false: a stop was asked for (an exit is not a crash)
    RestartPolicy policy;
    Child child;
    TimePoint started{};
    std::string last_exit;
    std::string out_buf, ready_buf;
    LoopHandle exit_watch, out_watch, ready_watch;
    LoopHandle timer;     // backoff before a restart, or the redis PING poll
    LoopHandle deadline;  // ready timeout while starting, SIGKILL while stopping
    std::vector<std::function<void(bool)>> on_ready;
    std::vector<std::function<void()>> on_exit;
    explicit Instance(RestartPolicy::Options o) : policy(o) {}
  };
  using InstancePtr = std::shared_ptr<Instance>;
  using Done = std::function<void(bool ok)>;

  static const char* stateName(State s);
  const ServiceSpec* spec(const std::string& service) const;
  ChildSpec childSpec(const Instance& in) const;
  InstancePtr makeInstance(const std::string& service, int index);
  std::vector<InstancePtr> instancesOf(const std::string& service) const;

  void spawn(const InstancePtr& in);
  void onOutput(const std::weak_ptr<Instance>& w);
  void onReadyPipe(const std::weak_ptr<Instance>& w);
  void onExit(const std::weak_ptr<Instance>& w);
  void becameReady(Instance& in);
  void pingRedis(const std::weak_ptr<Instance>& w);
  void print(const std::string& who, std::string_view line);

  // Starts these instances and calls `done` once all are ready (false if one gave up).
  void startAll(const std::vector<InstancePtr>& list, Done done);
  // Stops these instances (SIGTERM: they drain) and calls `done` once all exited.
  void stopAll(const std::vector<InstancePtr>& list, std::function<void()> done);
  void startLevel(size_t level);
  void shutdown(int code);
  void stopLevel(size_t level);
  void killEverything();

  void onControl();
  void reply(const std::string& client, const nlohmann::json& body);
  nlohmann::json ps() const;
  void scale(const std::string& service, int count,
             const std::function<void(nlohmann::json)>& done);
  void restart(const std::string& service, std::function<void(nlohmann::json)> done);
  void restartNext(std::vector<std::string> names, std::function<void(nlohmann::json)> done);

  EventLoop& loop_;
  zmq::context_t& context_;
  Topology topology_;
  SupervisorOptions options_;
  std::vector<std::vector<std::string>> levels_;  // level 0: redis (if embedded)
  std::map<std::string, InstancePtr> instances_;
  std::map<std::string, int> counts_;  // wanted instances per service
  zmq::socket_t control_;
  LoopHandle control_watch_;
  size_t width_ = 5;  // of the name column
  bool stopping_ = false;
  bool up_ = false;
  std::string busy_;  // the scale/restart in progress
  std::vector<std::string> down_waiters_;
  int exit_code_ = 0;
  std::string redis_dir_;
};

}  // namespace sb::ctl
