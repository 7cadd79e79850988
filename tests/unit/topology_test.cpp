// The topology files of `sbctl up`: parsed strictly, started in dependency order.
#include <gtest/gtest.h>

#include "topology.h"

namespace sb::ctl {
namespace {

constexpr const char* kSuite = R"(
[redis]
port = 6390

[service.router]
args = ["--client-bind", "tcp://127.0.0.1:5555", "--admin-http", "127.0.0.1:{admin_port}"]
admin_port = 9101

[service.infer]
instances = 2
args = ["--name", "{name}", "--admin-http", "127.0.0.1:{admin_port}"]
after = ["router"]
admin_port = 9110
env = { SB_LOG_LEVEL = "debug" }

[service.session]
after = ["router", "redis"]

[service.edge]
after = ["infer", "session"]
instances = 2
port = 8081
args = ["--listen", "127.0.0.1:{port}"]
)";

TEST(Topology, ParsesServicesInFileOrderWithDefaults) {
  Topology t;
  auto err = parseTopology(kSuite, t);
  ASSERT_FALSE(err) << *err;
  EXPECT_TRUE(t.redis.embedded);
  EXPECT_EQ(t.redis.port, 6390);
  ASSERT_EQ(t.services.size(), 4U);
  EXPECT_EQ(t.services[0].name, "router");
  EXPECT_EQ(t.services[1].name, "infer");
  EXPECT_EQ(t.services[1].program, "sb-inference-dispatch");
  EXPECT_EQ(t.services[1].instances, 2);
  EXPECT_EQ(t.services[1].env.at("SB_LOG_LEVEL"), "debug");
  EXPECT_EQ(t.services[3].program, "sb-edge");
  EXPECT_EQ(t.services[3].instances, 2);
}

TEST(Topology, AServicesOwnPortFollowsItsInstance) {
  Topology t;
  ASSERT_FALSE(parseTopology(kSuite, t));
  EXPECT_EQ(instanceArgs(t.services[3], 2),
            (std::vector<std::string>{"--listen", "127.0.0.1:8082"}));
}

TEST(Topology, LevelsStartTogetherWhatDependsOnTheSameThings) {
  Topology t;
  ASSERT_FALSE(parseTopology(std::string("banner = \"hello\"\n") + kSuite, t));
  EXPECT_EQ(t.banner, "hello");
  std::vector<std::string> order;
  ASSERT_FALSE(startOrder(t, order));
  // router; then infer and session (both after router only, or redis); then edge.
  EXPECT_EQ(startLevels(t, order),
            (std::vector<std::vector<std::string>>{{"router"}, {"infer", "session"}, {"edge"}}));
}

TEST(Topology, InstanceArgumentsGetTheirNameAndAdminPort) {
  Topology t;
  ASSERT_FALSE(parseTopology(kSuite, t));
  EXPECT_EQ(instanceArgs(t.services[1], 2),
            (std::vector<std::string>{"--name", "infer-2", "--admin-http", "127.0.0.1:9111"}));
  EXPECT_EQ(instanceArgs(t.services[0], 1)[3], "127.0.0.1:9101");
}

TEST(Topology, StartOrderFollowsAfter) {
  Topology t;
  ASSERT_FALSE(parseTopology(R"(
[service.edge]
after = ["infer"]
[service.infer]
after = ["router"]
[service.router]
[service.echo]
)",
                             t));
  std::vector<std::string> order;
  ASSERT_FALSE(startOrder(t, order));
  EXPECT_EQ(order, (std::vector<std::string>{"router", "infer", "edge", "echo"}));
}

TEST(Topology, CyclesAndUnknownDependenciesAreErrors) {
  Topology t;
  ASSERT_FALSE(
      parseTopology("[service.a]\nprogram = \"sb-echo\"\nafter = [\"b\"]\n"
                    "[service.b]\nprogram = \"sb-echo\"\nafter = [\"a\"]\n",
                    t));
  std::vector<std::string> order;
  auto err = startOrder(t, order);
  ASSERT_TRUE(err);
  EXPECT_EQ(*err, "services wait for each other (a cycle in `after`): a, b");
  ASSERT_FALSE(parseTopology("[service.echo]\nafter = [\"ghost\"]\n", t));
  err = startOrder(t, order);
  ASSERT_TRUE(err);
  EXPECT_EQ(*err, "service.echo.after: 'ghost' is not a service");
}

TEST(Topology, MistakesAreNamedWithTheirLine) {
  Topology t;
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {"[service.infer]\ninstance = 2\n",
            "service.infer.instance: unknown key (program, instances, args, env, after, "
            "admin_port, port) (line 2)"},
           {"[service.infer]\ninstances = 100\n",
            "service.infer.instances: must be an integer 0..64 (line 2)"},
           {"[service.infer]\ninstances = \"2\"\n",
            "service.infer.instances: must be an integer 0..64 (line 2)"},
           {"[service.mystery]\n", "service.mystery: no program (not a known service name)"},
           {"[redis]\nembedded = false\n[service.echo]\n", "redis: embedded = false needs a url"},
           {"[services.echo]\n", "services: unknown key (banner, redis, service) (line 1)"},
           {"[service.echo]\nargs = [\"--x\", 3]\n",
            "service.echo.args[]: must be a string (line 2)"},
           {"", "no [service.NAME] table: nothing to start"},
       }) {
    auto err = parseTopology(c.text, t);
    ASSERT_TRUE(err) << c.text;
    EXPECT_EQ(*err, c.error);
  }
  auto err = parseTopology("[service.echo\n", t);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("(line 1)"), std::string::npos) << *err;
}

TEST(Topology, AnExternalRedisUrlTurnsTheEmbeddedOneOff) {
  Topology t;
  ASSERT_FALSE(parseTopology("[redis]\nurl = \"redis://10.0.0.5:6379\"\n[service.session]\n", t));
  EXPECT_FALSE(t.redis.embedded);
  EXPECT_EQ(t.redis.url, "redis://10.0.0.5:6379");
}

}  // namespace
}  // namespace sb::ctl
