#include "suite_commands.h"

#include <signal.h>
#include <unistd.h>

#include <iostream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "loopback_probe.h"
#include "sb/core/config.h"
#include "sb/core/files.h"
#include "sb/core/signals.h"
#include "supervisor.h"

namespace sb::ctl {

using nlohmann::json;

namespace {

std::string defaultControl() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::string dir = runtime && *runtime ? runtime : "/tmp";
  return dir + "/switchboard-" + std::to_string(getuid()) + ".sock";
}

std::string selfDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

// One request to a running `sbctl up`; nullopt when nothing answers within `wait`.
std::optional<json> ask(const std::string& control, const json& request, Millis wait) {
  zmq::context_t context(1);
  zmq::socket_t s(context, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect("ipc://" + control);
  s.send(zmq::buffer(request.dump()), zmq::send_flags::dontwait);
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, wait) <= 0) return std::nullopt;
  zmq::message_t m;
  if (!s.recv(m)) return std::nullopt;
  json r = json::parse(m.to_string_view(), nullptr, false);
  if (r.is_discarded()) return std::nullopt;
  return r;
}

int up(SuiteArgs& a) {
  std::string text;
  if (!readWholeFile(a.file, text)) {
    std::cerr << "cannot read " << a.file << "\n";
    return 2;
  }
  Topology topology;
  if (auto err = parseTopology(text, topology)) {
    std::cerr << a.file << ": " << *err << "\n";
    return 2;
  }
  SupervisorOptions o;
  o.control = "ipc://" + a.control;
  o.bin_dir = a.bin_dir.empty() ? selfDir() : a.bin_dir;
  o.ready_fd = a.ready_fd;
  o.ready_timeout = Millis(a.ready_timeout_ms);
  o.stop_timeout = Millis(a.stop_timeout_ms);
  // SIGINT and SIGTERM through the loop (signalfd); SIGINT even when started in the background
  // of a script (which ignores it there): Ctrl-C is how a suite on a terminal is stopped.
  signal(SIGINT, SIG_DFL);
  setUpProcessSignals();
  zmq::context_t context(1);
  EventLoop loop;
  Supervisor supervisor(loop, context, std::move(topology), o);
  auto signals = onTerminationSignal(loop, [&](int signo) { supervisor.onSignal(signo); });
  // The terminal went away: stop as on Ctrl-C (the services' own SIGHUP is a reload).
  auto hangup = onReloadSignal(loop, [&] { supervisor.onSignal(SIGHUP); });
  if (!supervisor.start()) return 1;
  loop.run();
  return supervisor.exitCode();
}

int result(const std::optional<json>& r, const std::string& control) {
  if (!r) {
    std::cerr << "no suite answers on " << control << " (is `sbctl up` running?)\n";
    return 1;
  }
  if (!r->value("ok", false)) {
    std::cerr << r->value("error", "failed") << "\n";
    return 1;
  }
  if (r->contains("message")) std::cout << (*r)["message"].get<std::string>() << "\n";
  return 0;
}

int ps(SuiteArgs& a) {
  auto r = ask(a.control, {{"cmd", "ps"}}, Millis(3000));
  if (!r || !r->value("ok", false)) return result(r, a.control);
  json list = (*r)["instances"];
  for (auto& i : list) {
    int port = i.value("admin_port", 0);
    bool running = i.value("pid", 0) > 0;
    i["ready"] = port == 0 ? "-" : running ? probeReadyz(port) : "-";
  }
  if (a.as_json) {
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  std::printf("%-16s %-8s %-11s %8s %8s %8s  %s\n", "NAME", "PID", "STATE", "RESTARTS", "UPTIME",
              "ADMIN", "READINESS");
  for (const auto& i : list) {
    std::string admin = i["admin_port"] == 0 ? "-" : std::to_string(i["admin_port"].get<int>());
    std::string ready = i["ready"].get<std::string>();
    if (!i["last_exit"].get<std::string>().empty() && i["state"] != "running") {
      ready += " (last: " + i["last_exit"].get<std::string>() + ")";
    }
    std::printf("%-16s %-8d %-11s %8d %7llds %8s  %s\n", i["name"].get<std::string>().c_str(),
                i["pid"].get<int>(), i["state"].get<std::string>().c_str(),
                i["restarts"].get<int>(), static_cast<long long>(i["uptime_s"].get<int64_t>()),
                admin.c_str(), ready.c_str());
  }
  return 0;
}

}  // namespace

void addSuiteCommands(CLI::App& app, SuiteArgs& a) {
  a.control = defaultControl();
  app.add_option("--control", a.control, "Control socket of `sbctl up` (a path)")
      ->envname("SB_CONTROL")
      ->capture_default_str();
  a.up = app.add_subcommand(
      "up",
      "Run the suite of a topology file (deploy/local.toml): start in order, restart what "
      "crashes, Ctrl-C drains and stops everything");
  a.up->add_option("file", a.file, "Topology file (TOML)")->required();
  a.up->add_option("--bin-dir", a.bin_dir, "Where the sb-* programs are (default: sbctl's own)");
  a.up->add_option("--ready-fd", a.ready_fd, "Write a line to this fd once everything is ready");
  a.up->add_option("--ready-timeout-ms", a.ready_timeout_ms,
                   "An instance not ready by then is killed and restarted")
      ->capture_default_str();
  a.up->add_option("--stop-timeout-ms", a.stop_timeout_ms,
                   "An instance still running this long after SIGTERM gets SIGKILL (above the "
                   "services' drain timeout)")
      ->capture_default_str();
  a.ps = app.add_subcommand("ps", "The running suite's processes: pid, state, restarts, readiness");
  a.ps->add_flag("--json", a.as_json, "Print JSON");
  a.scale = app.add_subcommand(
      "scale", "Set a service's number of instances: new ones start, surplus ones drain");
  a.scale->add_option("service=count", a.targets, "For example infer=3")->required();
  a.restart = app.add_subcommand(
      "restart", "Replace a service's instances one at a time (drain, exit, start, ready)");
  a.restart->add_option("service", a.targets, "Service name(s), restarted in the order given")
      ->required();
  a.down = app.add_subcommand("down", "Stop the running suite (workers drain) and wait for it");
  // `--control` may come after the subcommand too.
  for (CLI::App* sub : {a.up, a.ps, a.scale, a.restart, a.down}) sub->fallthrough();
}

std::optional<int> runSuiteCommand(SuiteArgs& a) {
  if (*a.up) return up(a);
  if (*a.ps) return ps(a);
  if (*a.down) return result(ask(a.control, {{"cmd", "down"}}, Millis(600000)), a.control);
  if (*a.scale) {
    for (const auto& t : a.targets) {
      size_t eq = t.find('=');
      int n = -1;
      try {
        if (eq != std::string::npos) n = std::stoi(t.substr(eq + 1));
      } catch (const std::exception&) {
        n = -1;
      }
      if (n < 0) {
        std::cerr << "scale takes SERVICE=COUNT, not '" << t << "'\n";
        return 2;
      }
      json req{{"cmd", "scale"}, {"service", t.substr(0, eq)}, {"instances", n}};
      if (int rc = result(ask(a.control, req, Millis(3600000)), a.control)) return rc;
    }
    return 0;
  }
  if (*a.restart) {
    for (const auto& service : a.targets) {
      json req{{"cmd", "restart"}, {"service", service}};
      if (int rc = result(ask(a.control, req, Millis(3600000)), a.control)) return rc;
    }
    return 0;
  }
  return std::nullopt;
}

}  // namespace sb::ctl
