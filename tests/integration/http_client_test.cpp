// The libcurl-on-the-event-loop HTTP client against a scripted local HTTP server: bytes reach
// the caller as the server sends them, statuses and bodies of errors come through, a refused
// connection says nothing was sent, and cancel closes the connection at once.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "fake_http.h"
#include "redis.h"
#include "sb/http/http_client.h"

namespace sb::http {
namespace {

using namespace std::chrono_literals;
using test::FakeHttp;

const char* kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

// A one-shot flag the loop thread raises and a server thread waits for.
class Signal {
 public:
  void raise() {
    std::lock_guard<std::mutex> l(mu_);
    raised_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return raised_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool raised_ = false;
};

// Runs the loop until `done` or 10 s.
void runUntil(EventLoop& loop, const bool& done) {
  auto until = SteadyClock::now() + 10s;
  while (!done && SteadyClock::now() < until) loop.runOnce(50ms);
}

// The server sends the second event only once the client has the first: a client that
// buffered the response would never see either, and the test would end at its time limit.
TEST(HttpClient, StreamsBytesAsTheyArrive) {
  Signal got_first;
  FakeHttp server([&](FakeHttp::Exchange& ex) {
    EXPECT_EQ(ex.method, "POST");
    EXPECT_EQ(ex.path, "/v1/chat/completions");
    EXPECT_EQ(ex.body, "{\"stream\":true}");
    EXPECT_EQ(ex.headers["authorization"], "Bearer k");
    ex.write(kSseHead);
    ex.write("data: one\n\n");
    if (!got_first.wait(5s)) return;
    ex.write("data: two\n\n");
  });
  EventLoop loop;
  HttpClient client(loop);
  std::string body;
  Result result;
  bool done = false;
  Request req;
  req.method = "POST";
  req.url = server.base() + "/v1/chat/completions";
  req.headers = {"Content-Type: application/json", "Authorization: Bearer k"};
  req.body = "{\"stream\":true}";
  client.start(
      req,
      [&](long status, std::string_view bytes) {
        EXPECT_EQ(status, 200);
        body.append(bytes);
        if (body.find("data: one\n\n") != std::string::npos) got_first.raise();
      },
      [&](const Result& r) {
        result = r;
        done = true;
      });
  runUntil(loop, done);
  ASSERT_TRUE(done);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(body, "data: one\n\ndata: two\n\n");
  EXPECT_EQ(client.active(), 0u);
}

TEST(HttpClient, ErrorStatusesArriveWithTheirBodies) {
  const std::string error = "{\"error\":{\"message\":\"slow\"}}";
  FakeHttp server([&](FakeHttp::Exchange& ex) {
    ex.write(
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(error.size()) + "\r\n\r\n" + error);
  });
  EventLoop loop;
  HttpClient client(loop);
  std::string body;
  long seen = 0;
  Result result;
  bool done = false;
  client.start(
      {"GET", server.base() + "/v1/models", {}, "", 2000ms},
      [&](long status, std::string_view bytes) {
        seen = status;
        body.append(bytes);
      },
      [&](const Result& r) {
        result = r;
        done = true;
      });
  runUntil(loop, done);
  ASSERT_TRUE(done);
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.status, 429);
  EXPECT_EQ(seen, 429);
  EXPECT_EQ(body, error);
}

TEST(HttpClient, ARefusedConnectionSaysNothingWasSent) {
  int port = test::freePort();  // nothing listens there: connecting is refused
  EventLoop loop;
  HttpClient client(loop);
  Result result;
  bool done = false;
  client.start(
      {"GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, "", 2000ms},
      [](long, std::string_view) {},
      [&](const Result& r) {
        result = r;
        done = true;
      });
  runUntil(loop, done);
  ASSERT_TRUE(done);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.connected);
  EXPECT_FALSE(result.error.empty());
}

// Cancelled from inside its own data callback (the shape of a client going away mid-stream):
// the server sees its connection closed, and the transfer's done callback never runs.
TEST(HttpClient, CancelClosesTheConnectionPromptly) {
  std::atomic<bool> closed{false};
  std::atomic<long> close_ms{-1};
  FakeHttp server([&](FakeHttp::Exchange& ex) {
    ex.write(kSseHead);
    ex.write("data: first\n\n");
    auto t0 = std::chrono::steady_clock::now();
    closed = ex.awaitClose(5s);
    close_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
  });
  EventLoop loop;
  HttpClient client(loop);
  bool done_called = false;
  HttpClient::TransferId id = 0;
  id = client.start(
      {"GET", server.base() + "/stream", {}, "", 2000ms},
      [&](long, std::string_view) { client.cancel(id); },
      [&](const Result&) { done_called = true; });
  auto until = SteadyClock::now() + 10s;
  while (close_ms < 0 && SteadyClock::now() < until) loop.runOnce(20ms);
  EXPECT_TRUE(closed) << "the server never saw the connection close";
  EXPECT_LT(close_ms.load(), 1000);
  EXPECT_FALSE(done_called);
  EXPECT_EQ(client.active(), 0u);
}

TEST(HttpClient, ManyTransfersAtOnceOnOneThread) {
  FakeHttp server([](FakeHttp::Exchange& ex) {
    std::string body = "you asked for " + ex.path;
    ex.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
             body);
  });
  EventLoop loop;
  HttpClient client(loop);
  const int n = 20;
  std::vector<std::string> bodies(n);
  int done = 0;
  for (int i = 0; i < n; ++i) {
    client.start(
        {"GET", server.base() + "/" + std::to_string(i), {}, "", 2000ms},
        [&, i](long, std::string_view b) { bodies[i].append(b); },
        [&](const Result& r) {
          EXPECT_TRUE(r.ok) << r.error;
          ++done;
        });
  }
  EXPECT_EQ(client.active(), static_cast<size_t>(n));
  auto until = SteadyClock::now() + 10s;
  while (done < n && SteadyClock::now() < until) loop.runOnce(50ms);
  ASSERT_EQ(done, n);
  for (int i = 0; i < n; ++i) EXPECT_EQ(bodies[i], "you asked for /" + std::to_string(i));
}

}  // namespace
}  // namespace sb::http
