#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include "sb/redis/command_format.h"

namespace sb::redis {
namespace {

// hiredis's own formatter is the reference: ours must produce the same bytes.
std::string reference(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  char* out = nullptr;
  int n = redisFormatCommandArgv(&out, static_cast<int>(argv.size()), args.data(), lens.data());
  std::string s(out, static_cast<size_t>(n));
  redisFreeCommand(out);
  return s;
}

TEST(CommandFormat, MatchesHiredisByteForByte) {
  std::vector<std::vector<std::string>> cases{
      {"PING"},
      {"GET", "k"},
      {"SET", "", ""},                              // empty arguments
      {"SET", "bin", std::string("a\r\nb\0c", 6)},  // CRLF and NUL inside
      {"LRANGE", "sb:session:{id}:msgs", "-10", "-1"},
      {"EVALSHA", std::string(40, 'f'), "3", "a", "b", "c", std::string(100000, 'x')},
  };
  std::vector<std::string> many{"HSET", "h"};
  for (int i = 0; i < 1000; ++i) many.push_back(std::to_string(i));
  cases.push_back(many);
  for (const auto& argv : cases) {
    std::string ours;
    appendCommand(ours, argv);
    EXPECT_EQ(ours, reference(argv)) << argv[0];
  }
}

TEST(CommandFormat, AppendsAfterWhatIsThere) {
  std::string out = "*1\r\n$5\r\nMULTI\r\n";
  appendCommand(out, {"EXEC"});
  EXPECT_EQ(out, "*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nEXEC\r\n");
}

}  // namespace
}  // namespace sb::redis
