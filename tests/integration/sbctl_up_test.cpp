// `sbctl up` on a test topology: real redis-server, router, session, inference and edge
// processes started in order, a crashed one restarted, scaling while a load runs, and a stop
// that leaves no process behind.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "bus.h"
#include "http_get.h"
#include "redis.h"
#include "sb/core/config.h"
#include "suite_load.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Every process that carries `marker` in its environment (sbctl's children inherit it).
std::vector<pid_t> processesMarked(const std::string& marker) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream env("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
    std::stringstream all;
    all << env.rdbuf();
    if (all.str().find(marker) != std::string::npos) out.push_back(pid);
  }
  closedir(d);
  return out;
}

class SbctlUp : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tempDir();
    control_ = dir_ + "/control-" + std::to_string(getpid()) + ".sock";
    marker_ = "SB_TEST_SUITE=" + std::to_string(getpid()) + "-" + std::to_string(freePort());
  }
  void TearDown() override {
    if (up_.running()) {
      up_.signal(SIGKILL);  // its children die with it (PR_SET_PDEATHSIG)
      up_.awaitExit(10s);
    }
  }

  void up(const std::string& topology) {
    std::string file = dir_ + "/suite-" + std::to_string(getpid()) + ".toml";
    std::ofstream(file) << topology;
    up_ = Process::start("sbctl", {"up", file, "--control", control_}, {marker_});
    auto line = up_.awaitReady(60s);
    ASSERT_TRUE(line.has_value()) << up_.log();
  }
  // sbctl COMMAND ... --control; its exit code and output.
  std::pair<int, std::string> sbctl(std::vector<std::string> args) {
    args.push_back("--control");
    args.push_back(control_);
    Process p = Process::start("sbctl", args, {}, false);
    auto code = p.awaitExit(120s);
    return {code.value_or(-1), p.log()};
  }
  json ps() {
    auto [code, out] = sbctl({"ps", "--json"});
    EXPECT_EQ(code, 0) << out << up_.log();
    json list = json::parse(out, nullptr, false);
    return list.is_array() ? list : json::array();
  }
  json instance(const std::string& name) {
    for (const auto& i : ps()) {
      if (i["name"] == name) return i;
    }
    return json();
  }

  std::string dir_, control_, marker_;
  Process up_;
};

TEST_F(SbctlUp, StartsInOrderRestartsACrashScalesUnderLoadAndLeavesNothingBehind) {
  int redis = freePort(), clients = freePort(), workers = freePort(), edge = freePort();
  int admin = freePortBlock(13);  // router admin; infer gets admin + 10 .. + 12
  std::ostringstream t;
  t << "[redis]\nport = " << redis << "\n"
    << "[service.router]\nargs = [\"--client-bind\", \"tcp://127.0.0.1:" << clients
    << "\", \"--worker-bind\", \"tcp://127.0.0.1:" << workers
    << "\", \"--admin-http\", \"127.0.0.1:{admin_port}\"]\nadmin_port = " << admin << "\n"
    << "[service.session]\nargs = [\"--router\", \"tcp://127.0.0.1:" << workers
    << "\", \"--redis\", \"redis://127.0.0.1:" << redis << "\", \"--name\", \"{name}\"]\n"
    << "after = [\"router\", \"redis\"]\n"
    << "[service.infer]\nargs = [\"--router\", \"tcp://127.0.0.1:" << workers
    << "\", \"--name\", \"{name}\", \"--llm-backend\", \"kind=demo,models=demo,max_conns=8\", "
       "\"--admin-http\", \"127.0.0.1:{admin_port}\"]\n"
    << "after = [\"router\"]\nadmin_port = " << admin + 10 << "\n"
    << "[service.edge]\nargs = [\"--router\", \"tcp://127.0.0.1:" << clients
    << "\", \"--listen\", \"127.0.0.1:" << edge << "\"]\n"
    << "after = [\"session\", \"infer\"]\n";
  up(t.str());

  // Every process is up and ready.
  json list = ps();
  ASSERT_EQ(list.size(), 5u) << list.dump();
  for (const auto& i : list) {
    EXPECT_EQ(i["state"], "running") << i.dump();
    EXPECT_GT(i["pid"].get<int>(), 0) << i.dump();
    if (i["admin_port"] != 0) {
      EXPECT_EQ(i["ready"], "ready") << i.dump();
    }
  }
  // Only this user may command the suite.
  struct stat control {};
  ASSERT_EQ(stat(control_.c_str(), &control), 0);
  EXPECT_EQ(control.st_mode & 0777, 0600u);
  // The children's lines reach sbctl's output, prefixed with their instance name.
  EXPECT_TRUE(std::regex_search(up_.log(), std::regex("\nrouter-1 +\\| .*clients on tcp://")))
      << up_.log();

  // A crash: the supervisor starts infer-1 again and it becomes ready again.
  int old_pid = instance("infer-1")["pid"].get<int>();
  ASSERT_EQ(kill(old_pid, SIGKILL), 0);
  ASSERT_TRUE(waitUntil(
      [&] {
        json i = instance("infer-1");
        return i.is_object() && i["restarts"] == 1 && i["state"] == "running" &&
               i["pid"] != old_pid;
      },
      20s))
      << instance("infer-1").dump() << up_.log();
  ASSERT_TRUE(waitUntil([&] { return httpGet(admin + 10, "/readyz").status == 200; }, 20s));

  // Scale up and back down while chat turns and session reads run: nothing fails.
  {
    SuiteLoadOptions lo;
    lo.http = "http://127.0.0.1:" + std::to_string(edge);
    lo.routers = {"tcp://127.0.0.1:" + std::to_string(clients)};
    lo.chat_streams = 3;
    lo.embed_streams = 0;
    lo.read_streams = 1;
    SuiteLoad load(lo);
    ASSERT_TRUE(waitUntil([&] { return load.counts().chat_ok >= 3; }, 20s));
    auto [up3, out3] = sbctl({"scale", "infer=3"});
    ASSERT_EQ(up3, 0) << out3 << up_.log();
    json three = ps();
    int infer = 0;
    for (const auto& i : three) {
      if (i["service"] == "infer") {
        ++infer;
        EXPECT_EQ(i["ready"], "ready") << i.dump();
      }
    }
    EXPECT_EQ(infer, 3);
    // The new instances take work: the router lists three live workers of infer.
    ASSERT_TRUE(waitUntil(
        [&] {
          std::string s = httpGet(admin, "/metrics").body;
          return s.find("sb_router_live_workers{service=\"infer\"} 3") != std::string::npos;
        },
        20s));
    uint64_t before = load.counts().chat_ok;
    ASSERT_TRUE(waitUntil([&] { return load.counts().chat_ok >= before + 6; }, 20s));
    auto [down1, out1] = sbctl({"scale", "infer=1"});
    ASSERT_EQ(down1, 0) << out1 << up_.log();
    before = load.counts().chat_ok;
    ASSERT_TRUE(waitUntil([&] { return load.counts().chat_ok >= before + 3; }, 20s));
    SuiteLoadCounts c = load.stop();
    EXPECT_EQ(c.failed, 0u) << (c.failures.empty() ? "" : c.failures[0]);
    EXPECT_GT(c.read_ok, 0u);
  }
  json after = ps();
  EXPECT_EQ(after.size(), 5u) << after.dump();
  EXPECT_TRUE(instance("infer-2").is_null());
  EXPECT_NE(up_.log().find("infer-3: stopped (exit 0)"), std::string::npos);  // drained

  // Ctrl-C: everything stops in order and nothing is left: no process carrying our marker in
  // its environment (redis-server rewrites its own, so its pid is checked too).
  EXPECT_GE(processesMarked(marker_).size(), 5u);  // (sbctl and its children, while up)
  std::vector<pid_t> pids;
  for (const auto& i : ps()) pids.push_back(i["pid"].get<pid_t>());
  up_.signal(SIGINT);
  EXPECT_EQ(up_.awaitExit(60s), 0) << up_.log();
  EXPECT_EQ(processesMarked(marker_), std::vector<pid_t>{});
  for (pid_t pid : pids) EXPECT_NE(kill(pid, 0), 0) << "pid " << pid << " is still there";
}

}  // namespace
}  // namespace sb::test
