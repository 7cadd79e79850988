// sb-edge against bad and unusual HTTP clients, over raw sockets: malformed and oversized
// input, slow headers, header floods, pipelining, a client that never reads its stream, CORS
// preflights. Each gets a clear 4xx or is closed, and the edge keeps serving others.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "bus.h"
#include "dispatch.h"
#include "fake_http.h"
#include "latch.h"
#include "openai_wire.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
      throw std::runtime_error("cannot connect to the edge");
  }
  ~RawConn() { ::close(fd_); }
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Everything the server sends until it closes or `quiet` passes with nothing new.
  std::string read(std::chrono::milliseconds quiet = 1000ms) {
    std::string out;
    char buf[65536];
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(quiet.count())) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

int statusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

json bodyOf(const std::string& response) {
  size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? json() : json::parse(response.substr(at + 4), nullptr, false);
}

std::string post(const std::string& body, const std::string& type = "application/json") {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kModels = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";

double rssMb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

class EdgeHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    dispatch_ = startDispatch(bus_, "infer",
                              {"--llm-backend", "kind=demo,models=demo,max_conns=64",
                               "--demo-first-token-ms", "0", "--demo-tokens-per-second", "20000"});
    edge_ = Process::start(
        "sb-edge", {"--router", bus_.frontend(), "--listen", "127.0.0.1:0", "--max-body", "65536",
                    "--header-timeout-ms", "1000", "--max-pending-output", "65536", "--cors-origin",
                    "https://chat.example"});
    auto port = edge_.awaitReady(10s);
    ASSERT_TRUE(port.has_value()) << edge_.log();
    port_ = std::stoi(*port);
  }
  // The edge still answers a normal request.
  void expectServing() {
    RawConn c(port_);
    c.send(kModels);
    EXPECT_EQ(statusOf(c.read(300ms)), 200) << edge_.log();
  }
  Bus bus_;
  Process dispatch_, edge_;
  int port_ = 0;
};

TEST_F(EdgeHttp, BadBodiesGetClearErrorsInOpenAisShape) {
  struct Case {
    std::string request;
    int status;
    std::string code;
  };
  std::string big(70000, 'x');
  for (const Case& c : std::vector<Case>{
           {post("{not json"), 400, "invalid_request"},
           {post(
                "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}"),
            400, "invalid_request"},
           {post("{\"model\":\"demo\"}"), 400, "invalid_request"},
           {post("{\"model\":\"demo\",\"messages\":[]}", "text/plain"), 415,
            "unsupported_media_type"},
           {post("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"" + big +
                 "\"}]}"),
            413, "request_too_large"},
           {post("{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), 404,
            "model_not_found"},
           {"GET /v2/nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, "unknown_url"},
       }) {
    RawConn conn(port_);
    conn.send(c.request);
    std::string r = conn.read(300ms);
    EXPECT_EQ(statusOf(r), c.status) << r;
    json body = bodyOf(r);
    ASSERT_TRUE(body.is_object()) << r;
    EXPECT_EQ(body["error"]["code"], c.code) << r;
    EXPECT_TRUE(body["error"]["message"].is_string());
    EXPECT_NE(r.find("x-request-id: req_"), std::string::npos) << r;
  }
  expectServing();
}

TEST_F(EdgeHttp, AHeaderSentOneByteAtATimeIsCut) {
  RawConn slow(port_);
  std::string request =
      "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  auto started = SteadyClock::now();
  bool cut = false;
  for (char ch : request) {
    if (!slow.send(std::string(1, ch))) {
      cut = true;
      break;
    }
    slow.read(100ms);  // one byte per 100 ms: the whole head would take ~6 s
    if (slow.closed()) {
      cut = true;
      break;
    }
    expectServing();  // others are served all along
  }
  EXPECT_TRUE(cut) << "the slow client was never cut";
  EXPECT_LT(SteadyClock::now() - started, 4s);
}

TEST_F(EdgeHttp, TenThousandHeadersAreRefused) {
  RawConn conn(port_);
  std::string request = "GET /v1/models HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 10000; ++i) request += "X-H" + std::to_string(i) + ": v\r\n";
  request += "\r\n";
  conn.send(request);
  std::string r = conn.read(1000ms);
  int status = statusOf(r);
  EXPECT_TRUE(status == 431 || status == 413 || (r.empty() && conn.closed())) << r.substr(0, 200);
  expectServing();
}

TEST_F(EdgeHttp, PipelinedRequestsAreAnsweredInOrder) {
  RawConn conn(port_);
  std::string body =
      "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}";
  conn.send(post(body) + kModels + post("{bad"));
  std::string all;
  auto until = SteadyClock::now() + 5s;
  while (SteadyClock::now() < until) {
    all += conn.read(300ms);
    size_t n = 0;
    for (size_t at = 0; (at = all.find("HTTP/1.1 ", at)) != std::string::npos; ++at) ++n;
    if (n >= 3) break;
  }
  size_t first = all.find("HTTP/1.1 200"), second = all.find("\"object\":\"list\""),
         third = all.find("HTTP/1.1 400");
  ASSERT_NE(first, std::string::npos) << all;
  ASSERT_NE(second, std::string::npos) << all;
  ASSERT_NE(third, std::string::npos) << all;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_NE(all.find("chat.completion"), std::string::npos);
}

// Under AddressSanitizer freed memory sits in its quarantine (up to 256 MB) and every byte has
// shadow memory, so the process holds more than its live data: the bound is wider there.
#if defined(__SANITIZE_ADDRESS__)
constexpr double kRssBoundMb = 200.0;
#else
constexpr double kRssBoundMb = 100.0;
#endif

TEST_F(EdgeHttp, AClientThatNeverReadsItsStreamIsCutAndMemoryStaysBounded) {
  // A backend that streams as fast as it can, far more than socket buffers hold (up to 64 MB).
  FakeHttp flood([](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    std::string piece = sseChunk(std::string(1024, 'z'));
    for (int i = 0; i < 65536 && ex.write(piece); ++i) {
    }
  });
  auto d = startDispatch(bus_, "infer-flood",
                         {"--llm-backend", "kind=openai,url=" + flood.base() + ",models=flood"});
  std::vector<std::unique_ptr<RawConn>> idle;
  std::string body =
      "{\"model\":\"flood\",\"stream\":true,\"messages\":[{\"role\":\"user\","
      "\"content\":\"go\"}]}";
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<RawConn>(port_));
    idle.back()->send(post(body));  // and never read
  }
  // The streams fill the sockets, then the edge's per-stream cap: each is cut.
  ASSERT_TRUE(
      waitUntil([&] { return edge_.log().find("client_closed") != std::string::npos; }, 20s))
      << edge_.log();
  EXPECT_LT(rssMb(edge_.pid()), kRssBoundMb);
  expectServing();
}

// SIGTERM drains (nginx's graceful quit): the listener closes, an idle keep-alive connection
// is closed, a stream in flight runs to its end, then the edge exits 0.
TEST_F(EdgeHttp, SigtermLetsAStreamInFlightFinishAndTakesNoNewConnections) {
  Latch started, release;
  FakeHttp held([&](FakeHttp::Exchange& ex) {
    ex.write(kSseHead + sseChunk("one "));
    started.arrive();
    release.await(1, 20s);
    ex.write(sseChunk("two", "stop") + "data: [DONE]\n\n");
  });
  auto d = startDispatch(bus_, "infer-held",
                         {"--llm-backend", "kind=openai,url=" + held.base() + ",models=held"});
  RawConn stream(port_);
  stream.send(
      post(R"({"model":"held","stream":true,"messages":[{"role":"user","content":"go"}]})"));
  ASSERT_TRUE(started.await(1, 10s));
  RawConn idle(port_);
  idle.send(kModels);
  ASSERT_EQ(statusOf(idle.read(300ms)), 200);

  edge_.signal(SIGTERM);
  ASSERT_TRUE(waitUntil([&] { return edge_.log().find("edge draining") != std::string::npos; }, 5s))
      << edge_.log();
  idle.read(2000ms);
  EXPECT_TRUE(idle.closed()) << "an idle keep-alive connection stays open while draining";
  EXPECT_THROW(RawConn{port_}, std::runtime_error) << "the edge still accepts connections";
  EXPECT_FALSE(edge_.awaitExit(300ms).has_value()) << "the edge left a stream in flight";

  release.arrive();
  std::string rest = stream.read(2000ms);
  EXPECT_NE(rest.find("\"two\""), std::string::npos) << rest;
  EXPECT_NE(rest.find("data: [DONE]"), std::string::npos) << rest;
  EXPECT_EQ(edge_.awaitExit(10s), 0) << edge_.log();
  EXPECT_NE(edge_.log().find("edge drained"), std::string::npos);
}

TEST_F(EdgeHttp, CorsPreflightAllowsTheSdksHeadersForConfiguredOrigins) {
  RawConn conn(port_);
  conn.send(
      "OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: https://chat.example\r\n"
      "Access-Control-Request-Method: POST\r\n"
      "Access-Control-Request-Headers: authorization, content-type, x-stainless-os, "
      "x-evil\r\n\r\n");
  std::string r = conn.read(300ms);
  EXPECT_EQ(statusOf(r), 204) << r;
  EXPECT_NE(r.find("Access-Control-Allow-Origin: https://chat.example"), std::string::npos) << r;
  EXPECT_NE(r.find("Access-Control-Allow-Headers: authorization, content-type, x-stainless-os\r\n"),
            std::string::npos)
      << r;
  RawConn other(port_);
  other.send("OPTIONS /v1/models HTTP/1.1\r\nHost: x\r\nOrigin: https://elsewhere.example\r\n\r\n");
  r = other.read(300ms);
  EXPECT_EQ(r.find("Access-Control-Allow-Origin"), std::string::npos) << r;
}

}  // namespace
}  // namespace sb::test
