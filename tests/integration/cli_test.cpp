// The command-line contract: flags, SB_* environment, config file, one-line errors; sbctl.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>

#include "bus.h"
#include "dispatch.h"
#include "redis.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;

struct Run {
  int code;
  std::string output;
};

// Runs a program from build/bin to completion, capturing stdout and stderr.
Run runProgram(const std::string& program, std::vector<std::string> args,
               std::vector<std::string> env = {}) {
  Process p = Process::start(program, std::move(args), std::move(env), program != "sbctl");
  auto code = p.awaitExit(20s);
  return {code.value_or(-1), p.log()};
}

TEST(Cli, BadFlagExitsNonZeroWithOneLine) {
  for (const char* program : {"sb-router", "sb-echo", "sbctl"}) {
    auto r = runProgram(program, {"--no-such-flag"});
    EXPECT_NE(r.code, 0) << program;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << program << ": " << r.output;
  }
  auto r = runProgram("sb-router", {"--policy", "random"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("random"), std::string::npos) << r.output;
  r = runProgram("sb-echo", {"--capacity", "zero"});
  EXPECT_EQ(r.code, 2);
  r = runProgram("sb-echo", {"--delay-lognormal", "1"});
  EXPECT_EQ(r.code, 2);
}

TEST(Cli, HelpListsEveryFlagWithItsEnvironmentVariable) {
  auto r = runProgram("sb-router", {"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* flag :
       {"--client-bind", "--worker-bind", "--policy", "--config", "--queue-size", "--heartbeat-ms",
        "--no-worker-grace-ms", "SB_CLIENT_BIND", "SB_WORKER_BIND", "SB_QUEUE_SIZE"}) {
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
  }
  r = runProgram("sb-echo", {"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--router", "--capacity", "--weight", "--backup", "--chunks",
                           "--delay-ms", "--delay-lognormal", "SB_ROUTER", "SB_CAPACITY"}) {
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
  }
}

TEST(Cli, EnvironmentAndConfigFileSetOptions) {
  EXPECT_EQ(Bus().status()["policy"], "least-conn");
  EXPECT_EQ(Bus({}, {"SB_POLICY=round-robin"}).status()["policy"], "round-robin");
  std::string path = tempDir() + "/router.conf";
  std::ofstream(path) << "# a config file\npolicy = \"round-robin\"\n";
  EXPECT_EQ(Bus({"--config", path}).status()["policy"], "round-robin");
  // The command line wins over the file.
  EXPECT_EQ(Bus({"--config", path, "--policy", "least-conn"}).status()["policy"], "least-conn");
  auto bad = runProgram("sb-router", {"--config", "/nonexistent/file"});
  EXPECT_NE(bad.code, 0);
}

// The signals a process ignores, from /proc (the SigIgn mask: bit n-1 for signal n).
uint64_t ignoredSignals(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("SigIgn:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  }
  return 0;
}

// hiredis writes with write(2): a Redis killed while a command is on its way raises SIGPIPE,
// whose default action ends the process without a word (the session service died that way
// in the failover test under ASan). Every service ignores it, so the write fails with EPIPE
// and the connection counts as lost.
TEST(Cli, EveryServiceIgnoresBrokenPipes) {
  Bus bus;
  const uint64_t pipe_bit = uint64_t{1} << (SIGPIPE - 1);
  EXPECT_TRUE(ignoredSignals(bus.router().pid()) & pipe_bit) << "sb-router";
  Process echo = bus.startEcho("e");
  EXPECT_TRUE(ignoredSignals(echo.pid()) & pipe_bit) << "sb-echo";
  Process dispatch = startDispatch(bus, "d", {});
  EXPECT_TRUE(ignoredSignals(dispatch.pid()) & pipe_bit) << "sb-inference-dispatch";
  Process session = Process::start(
      "sb-session",
      {"--router", bus.backend(), "--redis", "redis://127.0.0.1:" + std::to_string(freePort())});
  ASSERT_TRUE(session.awaitReady(10s)) << session.log();
  EXPECT_TRUE(ignoredSignals(session.pid()) & pipe_bit) << "sb-session";
}

TEST(Cli, SbctlCallsStatusAndKeyslot) {
  Bus bus;
  auto w = bus.startEcho("cli-echo", {"--chunks", "2"});
  std::vector<std::string> env{"SB_ROUTER=" + bus.frontend()};
  auto r = runProgram("sbctl", {"call", "echo", "echo", R"({"hello":"world"})"}, env);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "{\"hello\":\"world\"}\n{\"hello\":\"world\"}\n{\"chunks\":2}\n");
  r = runProgram("sbctl", {"--router", bus.frontend(), "status"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("cli-echo"), std::string::npos) << r.output;
  r = runProgram("sbctl", {"status", "--json"}, env);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(nlohmann::json::parse(r.output)["workers"][0]["name"], "cli-echo");
  r = runProgram("sbctl", {"call", "echo", "nope", "{}"}, env);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("UNIMPLEMENTED"), std::string::npos) << r.output;
  r = runProgram("sbctl", {"call", "echo", "echo", "{not json"}, env);
  EXPECT_EQ(r.code, 1);
  r = runProgram("sbctl", {"keyslot", "123456789", "{user1000}.following"});
  EXPECT_EQ(r.output, "123456789 12739\n{user1000}.following 3443\n");
  auto leaving = bus.startEcho("leaving");
  r = runProgram("sbctl", {"drain", "leaving"}, env);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(leaving.awaitExit(10s), 0);  // drained, said bye, exited cleanly
  EXPECT_FALSE(bus.hasWorker("leaving"));
  r = runProgram("sbctl", {"drain", "nobody"}, env);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("NOT_FOUND"), std::string::npos) << r.output;
  r = runProgram("sbctl", {"metrics"}, env);
  EXPECT_NE(r.output.find("sb_router_requests_total{service=\"echo\"}"), std::string::npos)
      << r.output;
}

TEST(Cli, SbctlWithNoRouterTimesOutWithAClearError) {
  auto r = runProgram("sbctl", {"--router", "tcp://127.0.0.1:1", "--deadline-ms", "200", "status"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("DEADLINE_EXCEEDED"), std::string::npos) << r.output;
  // The common options may come after the subcommand too.
  auto after = runProgram("sbctl", {"status", "--router", "tcp://127.0.0.1:1", "--deadline-ms",
                                    "200", "--curve-secret", "/nonexistent"});
  EXPECT_EQ(after.code, 2);
  EXPECT_NE(after.output.find("CURVE needs both"), std::string::npos) << after.output;
}

}  // namespace
}  // namespace sb::test
