// The command-line contract: flags, SB_* environment, config file, one-line errors; sbctl.
#include <gtest/gtest.h>

#include <fstream>

#include "bus.h"

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
}

}  // namespace
}  // namespace sb::test
