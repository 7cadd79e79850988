// How long certificates replaced by a reload are kept (TlsGenerations): as long as a
// connection that may have been handed them is open, and no longer.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tls_generations.h"

namespace sb::http {
namespace {

using Generations = TlsGenerations<std::string>;
auto cert(const char* name) { return std::make_shared<const std::string>(name); }

TEST(TlsGenerations, WithNoConnectionOpenAReplacedCertificateGoesAtOnce) {
  auto first = cert("one");
  std::weak_ptr<const std::string> watch = first;
  Generations g(std::move(first));
  g.replace(cert("two"));
  EXPECT_EQ(g.current(), "two");
  EXPECT_EQ(g.retained(), 0U);
  EXPECT_TRUE(watch.expired());
}

TEST(TlsGenerations, ACertificateStaysWhileAConnectionThatMayHoldItIsOpen) {
  auto first = cert("one");
  std::weak_ptr<const std::string> watch = first;
  Generations g(std::move(first));
  uint64_t old_conn = g.opened();
  g.replace(cert("two"));
  uint64_t new_conn = g.opened();
  EXPECT_EQ(g.retained(), 1U);
  EXPECT_FALSE(watch.expired());
  g.closed(new_conn);  // (a newer connection never held "one")
  EXPECT_FALSE(watch.expired());
  g.closed(old_conn);
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(g.current(), "two");
}

TEST(TlsGenerations, AnOldConnectionHoldsEveryLaterGenerationUntilItCloses) {
  Generations g(cert("one"));
  uint64_t oldest = g.opened();
  g.replace(cert("two"));
  uint64_t middle = g.opened();
  g.replace(cert("three"));
  // `oldest` opened before "two" existed but may have done its handshake after: both stay.
  EXPECT_EQ(g.retained(), 2U);
  g.closed(oldest);
  EXPECT_EQ(g.retained(), 1U);  // "two" stays for `middle`
  g.closed(middle);
  EXPECT_EQ(g.retained(), 0U);
  EXPECT_EQ(g.current(), "three");
}

TEST(TlsGenerations, ManyConnectionsOfOneGenerationAllCount) {
  Generations g(cert("one"));
  uint64_t a = g.opened(), b = g.opened();
  g.replace(cert("two"));
  g.closed(a);
  EXPECT_EQ(g.retained(), 1U);
  g.closed(b);
  EXPECT_EQ(g.retained(), 0U);
  g.closed(b);  // (a second close of the same connection changes nothing)
  EXPECT_EQ(g.retained(), 0U);
}

}  // namespace
}  // namespace sb::http
