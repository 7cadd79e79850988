// --llm-backend specs: what an operator writes, read strictly.
#include <gtest/gtest.h>

#include "inference_config.h"

namespace sb::inference {
namespace {

TEST(BackendSpec, ReadsEverySetting) {
  BackendConfig b;
  ASSERT_FALSE(
      parseBackend("kind=openai,url=http://gpu1:8000/,models=a|b,weight=2,max_conns=8,"
                   "backup,api_key_env=KEY,name=g1",
                   b));
  EXPECT_EQ(b.kind, "openai");
  EXPECT_EQ(b.url, "http://gpu1:8000");  // trailing slash dropped
  EXPECT_EQ(b.spec.models, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(b.spec.weight, 2u);
  EXPECT_EQ(b.spec.max_conns, 8u);
  EXPECT_TRUE(b.spec.backup);
  EXPECT_EQ(b.api_key_env, "KEY");
  EXPECT_EQ(b.spec.name, "g1");
  BackendConfig d;
  ASSERT_FALSE(parseBackend("kind=demo", d));
  EXPECT_EQ(d.spec.name, "demo");
}

TEST(BackendSpec, RefusesWhatCannotWork) {
  // "url=//" once passed: the trailing slashes were dropped after the check for a URL.
  for (const char* bad :
       {"kind=openai", "kind=openai,url=//", "kind=openai,url=/", "kind=openai,url=ftp://h",
        "kind=openai,url=http://", "kind=gpt", "weight=0", "max_conns=x", "backup=yes", "name="}) {
    BackendConfig b;
    EXPECT_TRUE(parseBackend(bad, b).has_value()) << bad;
  }
}

}  // namespace
}  // namespace sb::inference
