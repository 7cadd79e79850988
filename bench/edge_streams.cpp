// Thousands of concurrent SSE streams held open through one sb-edge: every stream asks for a
// fixed number of tokens from the demo backend at 10 tokens/s; this program reads them all
// on one epoll loop, counts each stream's tokens and checks it ended with data: [DONE].
// Prints the tokens delivered against those asked for, the most streams open at once, the
// edge's peak RSS and its CPU per 1,000 tokens (and the router's and dispatch's).
//
//   bench_edge_streams [--streams N] [--tokens N] [--tokens-per-second R]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "bus.h"
#include "http_probe.h"
#include "sb/core/config.h"
#include "stats.h"

using namespace std::chrono_literals;
using sb::test::Process;

namespace {

using Clock = std::chrono::steady_clock;

struct Stream {
  int fd = -1;
  bool sent = false;
  bool head_done = false;
  bool ok_status = false;
  bool done = false;    // data: [DONE] seen
  bool closed = false;  // the socket is gone
  std::string head;
  std::string events;  // decoded, not yet split into events
  sb::bench::ChunkedDecoder body;
  int tokens = 0;
};

int connectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 && errno != EINPROGRESS) {
    throw std::runtime_error("connect: " + std::string(std::strerror(errno)));
  }
  return fd;
}

// Splits complete SSE events off `s.events`, counting content pieces and the end marker.
void readEvents(Stream& s) {
  size_t start = 0;
  for (size_t end; (end = s.events.find("\n\n", start)) != std::string::npos; start = end + 2) {
    std::string_view ev(s.events.data() + start, end - start);
    if (ev.rfind("data: [DONE]", 0) == 0) {
      s.done = true;
      continue;
    }
    auto at = ev.find("\"content\":\"");
    if (at != std::string_view::npos && at + 11 < ev.size() && ev[at + 11] != '"') ++s.tokens;
  }
  s.events.erase(0, start);
}

}  // namespace

int main(int argc, char** argv) {
  int streams = 5000, tokens = 100;
  double rate = 10;
  CLI::App app{"Concurrent SSE streams through one sb-edge", "bench_edge_streams"};
  app.add_option("--streams", streams, "Streams held open at once")->capture_default_str();
  app.add_option("--tokens", tokens, "Tokens each stream asks for")->capture_default_str();
  app.add_option("--tokens-per-second", rate, "Pace of each stream")->capture_default_str();
  if (auto rc = sb::parseCommandLine(app, argc, argv)) return *rc;
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < static_cast<rlim_t>(streams) + 100) {
    std::fprintf(stderr, "open-file limit %llu is below %d streams\n",
                 static_cast<unsigned long long>(nofile.rlim_cur), streams);
    return 1;
  }

  std::string n = std::to_string(streams);
  sb::test::Bus bus({"--log-level", "warn"});
  Process dispatch = Process::start(
      "sb-inference-dispatch",
      {"--router", bus.backend(), "--log-level", "warn", "--capacity", n, "--demo-first-token-ms",
       "200", "--demo-tokens-per-second", std::to_string(rate), "--llm-backend",
       "kind=demo,models=demo,max_conns=" + n});
  if (!dispatch.awaitReady(10s)) throw std::runtime_error("dispatch did not start");
  Process edge = Process::start(
      "sb-edge", {"--router", bus.frontend(), "--listen", "127.0.0.1:0", "--max-connections",
                  std::to_string(streams + 100), "--log-level", "warn"});
  auto port_line = edge.awaitReady(10s);
  if (!port_line) throw std::runtime_error("edge did not start: " + edge.log());
  int port = std::stoi(*port_line);
  std::printf("edge_streams: %u CPUs, %d streams x %d tokens at %.0f tokens/s each\n",
              std::thread::hardware_concurrency(), streams, tokens, rate);

  std::string body = R"({"model":"demo","stream":true,"max_tokens":)" + std::to_string(tokens) +
                     R"(,"messages":[{"role":"user","content":"stream please"}]})";
  std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;

  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Stream> all(static_cast<size_t>(streams));
  double cpu_edge0 = sb::bench::cpuSeconds(edge.pid());
  double cpu_bus0 =
      sb::bench::cpuSeconds(bus.router().pid()) + sb::bench::cpuSeconds(dispatch.pid());
  auto t0 = Clock::now();
  size_t opened = 0, finished = 0;
  int open_now = 0, open_max = 0;
  double rss_at_max = 0;
  std::vector<epoll_event> events(1024);
  char buf[65536];
  auto deadline = t0 + std::chrono::seconds(static_cast<int>(tokens / rate) + 120);
  while (finished < all.size() && Clock::now() < deadline) {
    // Open connections in steps of 250 per turn (the listen backlog is finite).
    for (int k = 0; k < 250 && opened < all.size(); ++k, ++opened) {
      Stream& s = all[opened];
      s.fd = connectTo(port);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
      ev.data.u64 = opened;
      epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
    }
    int ready = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < ready; ++i) {
      Stream& s = all[events[i].data.u64];
      if (s.closed) continue;
      if ((events[i].events & EPOLLOUT) && !s.sent) {
        if (send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
          s.sent = true;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.u64 = events[i].data.u64;
          epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ev);
        }
      }
      if (!(events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) continue;
      bool eof = false;
      for (;;) {
        ssize_t r = recv(s.fd, buf, sizeof(buf), 0);
        if (r <= 0) {
          eof = r == 0 || errno != EAGAIN;
          break;
        }
        std::string_view in(buf, static_cast<size_t>(r));
        if (!s.head_done) {
          s.head.append(in);
          auto end = s.head.find("\r\n\r\n");
          if (end == std::string::npos) continue;
          s.head_done = true;
          s.ok_status = s.head.rfind("HTTP/1.1 200", 0) == 0;
          in = std::string_view(s.head).substr(end + 4);
          if (s.ok_status && ++open_now > open_max) {
            open_max = open_now;
            if (open_max % 500 == 0 || open_max == streams) {
              rss_at_max = sb::bench::statusMb(edge.pid(), "VmRSS:");
            }
          }
        }
        if (!s.body.feed(in, s.events)) eof = true;
        readEvents(s);
        if (!s.head_done || s.head.size() > 65536) break;
      }
      if (s.done || s.body.done() || eof) {
        s.closed = true;
        close(s.fd);
        ++finished;
        if (s.ok_status) --open_now;
      }
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu_edge = sb::bench::cpuSeconds(edge.pid()) - cpu_edge0;
  double cpu_bus =
      sb::bench::cpuSeconds(bus.router().pid()) + sb::bench::cpuSeconds(dispatch.pid()) - cpu_bus0;
  uint64_t delivered = 0;
  int complete = 0, short_streams = 0, failed = 0;
  for (auto& s : all) {
    delivered += static_cast<uint64_t>(s.tokens);
    if (!s.ok_status) {
      ++failed;
    } else if (s.done && s.tokens == tokens) {
      ++complete;
    } else {
      ++short_streams;
    }
  }
  uint64_t asked = static_cast<uint64_t>(streams) * static_cast<uint64_t>(tokens);
  std::printf("  streams complete (all %d tokens and [DONE]) %d of %d; short %d; not 200 %d\n",
              tokens, complete, streams, short_streams, failed);
  std::printf("  tokens delivered %s of %s asked, in %.1f s\n",
              sb::bench::grouped(static_cast<double>(delivered)).c_str(),
              sb::bench::grouped(static_cast<double>(asked)).c_str(), elapsed);
  std::printf("  streams open at once: at most %d\n", open_max);
  std::printf("  edge RSS: %.1f MB with all open, peak %.1f MB (target < 300 MB)\n", rss_at_max,
              sb::bench::statusMb(edge.pid(), "VmHWM:"));
  std::printf("  CPU per 1,000 tokens: edge %.1f ms, router + dispatch %.1f ms\n",
              delivered ? cpu_edge * 1e6 / static_cast<double>(delivered) : 0.0,
              delivered ? cpu_bus * 1e6 / static_cast<double>(delivered) : 0.0);
  return complete == streams ? 0 : 1;
}
