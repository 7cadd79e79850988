// What is open says so at start: an edge without API keys, and an admin listener (probes and
// metrics, no authentication) on an address other hosts can reach. (A plain-TCP router on
// such an address: CurveWarning in curve_test.cpp.)
#include <gtest/gtest.h>

#include "process.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;

TEST(ExposureWarnings, AnOpenEdgeAndAnAdminListenerOnEveryInterfaceSaySo) {
  // Bound, never connected to: no traffic leaves loopback.
  Process open = Process::start("sb-edge", {"--listen", "127.0.0.1:0", "--admin-http", "0.0.0.0:0",
                                            "--router", "tcp://127.0.0.1:1"});
  auto port = open.awaitReady(10s);
  ASSERT_TRUE(port.has_value()) << open.log();
  EXPECT_NE(open.log().find("the API is open to anyone who can reach 127.0.0.1:" + *port),
            std::string::npos)
      << open.log();
  EXPECT_NE(open.log().find("admin listener on 0.0.0.0:0 is reachable from other hosts and has "
                            "no authentication"),
            std::string::npos)
      << open.log();
  // On loopback, the admin listener is quiet about it.
  Process quiet = Process::start("sb-edge", {"--listen", "127.0.0.1:0", "--admin-http",
                                             "127.0.0.1:0", "--router", "tcp://127.0.0.1:1"});
  ASSERT_TRUE(quiet.awaitReady(10s)) << quiet.log();
  EXPECT_EQ(quiet.log().find("has no authentication"), std::string::npos) << quiet.log();
}

}  // namespace
}  // namespace sb::test
