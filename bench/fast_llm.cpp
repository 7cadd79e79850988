#include "fast_llm.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <queue>
#include <stdexcept>
#include <unordered_map>

#include "listener.h"
#include "openai_wire.h"

namespace sb::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::string sseChunk(const std::string& delta_json, const char* finish) {
  return sb::test::chunked(
      std::string("data: {\"id\":\"chatcmpl-fast\",\"object\":\"chat.completion.chunk\","
                  "\"created\":1,\"model\":\"fast\",\"choices\":[{\"index\":0,\"delta\":") +
      delta_json + ",\"finish_reason\":" + finish + "}]}\n\n");
}

// The two halves of a streamed answer: the head with the first piece, and the rest.
std::string streamHead() {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
         "\r\n" +
         sseChunk(R"({"role":"assistant","content":"tok "})", "null");
}

std::string streamRest(int tokens) {
  std::string out;
  for (int i = 1; i < tokens; ++i) out += sseChunk(R"({"content":"tok "})", "null");
  out += sseChunk("{}", "\"stop\"");
  out += sb::test::chunked(
      "data: {\"id\":\"chatcmpl-fast\",\"object\":\"chat.completion.chunk\",\"created\":1,"
      "\"model\":\"fast\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":" +
      std::to_string(tokens) + ",\"total_tokens\":" + std::to_string(tokens + 3) + "}}\n\n");
  out += sb::test::chunked("data: [DONE]\n\n");
  out += sb::test::chunked("");  // the terminator
  return out;
}

std::string wholeAnswer(int tokens) {
  std::string text;
  for (int i = 0; i < tokens; ++i) text += "tok ";
  std::string body =
      R"({"id":"chatcmpl-fast","object":"chat.completion","created":1,"model":"fast",)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":")" +
      text + R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":)" +
      std::to_string(tokens) + ",\"total_tokens\":" + std::to_string(tokens + 3) + "}}";
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Content-Length of a request head (lower-cased search), 0 when absent.
size_t contentLength(std::string_view head) {
  std::string lower(head);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::strtoul(lower.c_str() + at + 17, nullptr, 10);
}

struct Conn {
  std::string in;
  std::string out;      // not yet written
  bool busy = false;    // a request is being answered
  bool stream = false;  // the current answer is SSE
  uint64_t generation = 0;
  std::chrono::steady_clock::time_point started{};  // of the current answer
};

struct Timer {
  Clock::time_point due;
  int fd;
  uint64_t generation;
  int phase;  // 0: head, 1: rest
  bool operator>(const Timer& o) const { return due > o.due; }
};

}  // namespace

FastLlm::FastLlm(FastLlmOptions o) : options_(o) {
  listen_fd_ = sb::test::listenOnLoopback(port_, 4096);
  fcntl(listen_fd_, F_SETFL, fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

FastLlm::~FastLlm() {
  stop_ = true;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) {
  }
  thread_.join();
  close(wake_fd_);
  close(listen_fd_);
}

FastLlm::Stats FastLlm::take() {
  std::lock_guard lock(mu_);
  Stats s = std::move(stats_);
  stats_ = {};
  return s;
}

void FastLlm::run() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.fd = wake_fd_;
  epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd_, &ev);
  std::unordered_map<int, Conn> conns;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  const std::string head = streamHead(), rest = streamRest(options_.tokens),
                    whole = wholeAnswer(options_.tokens);
  const bool paced = options_.first_token.count() > 0 || options_.rest.count() > 0;
  int in_flight = 0;
  Clock::time_point idle_since{};
  uint64_t generations = 0;

  auto closeConn = [&](int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    if (it->second.busy) --in_flight;
    conns.erase(it);
    close(fd);
  };
  auto flush = [&](int fd, Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) break;
        return false;
      }
      c.out.erase(0, static_cast<size_t>(n));
    }
    epoll_event w{};
    w.events = c.out.empty() ? uint32_t{EPOLLIN} : uint32_t{EPOLLIN | EPOLLOUT};
    w.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &w);
    return true;
  };
  std::function<bool(int, Conn&)> serve;
  auto finish = [&](int fd, Conn& c) {
    c.busy = false;
    {
      std::lock_guard lock(mu_);
      stats_.busy_us += std::chrono::duration<double, std::micro>(Clock::now() - c.started).count();
      ++stats_.answered;
    }
    if (--in_flight == 0) idle_since = Clock::now();
    return serve(fd, c);  // a pipelined request waiting behind this one
  };
  // Starts answering the first complete request in `c.in`, if there is one.
  serve = [&](int fd, Conn& c) -> bool {
    if (c.busy) return true;
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return true;
    size_t total = end + 4 + contentLength(std::string_view(c.in).substr(0, end + 2));
    if (c.in.size() < total) return true;
    std::string_view body = std::string_view(c.in).substr(end + 4, total - end - 4);
    c.stream = body.find("\"stream\":true") != std::string_view::npos ||
               body.find("\"stream\": true") != std::string_view::npos;
    c.in.erase(0, total);
    c.busy = true;
    c.generation = ++generations;
    auto now = Clock::now();
    c.started = now;
    {
      std::lock_guard lock(mu_);
      ++stats_.requests;
      if (in_flight == 0 && idle_since != Clock::time_point{}) {
        stats_.gaps_us.push_back(
            std::chrono::duration<double, std::micro>(now - idle_since).count());
      }
    }
    ++in_flight;
    if (paced) {
      timers.push({now + options_.first_token, fd, c.generation, 0});
      return true;
    }
    c.out += c.stream ? head + rest : whole;
    if (!flush(fd, c)) return false;
    return finish(fd, c);
  };
  auto fire = [&](const Timer& t) {
    auto it = conns.find(t.fd);
    if (it == conns.end() || it->second.generation != t.generation || !it->second.busy) return;
    Conn& c = it->second;
    bool ok = true;
    if (t.phase == 0 && c.stream) {
      c.out += head;
      ok = flush(t.fd, c);
      timers.push({Clock::now() + options_.rest, t.fd, t.generation, 1});
    } else if (t.phase == 0) {
      timers.push({Clock::now() + options_.rest, t.fd, t.generation, 1});
    } else {
      c.out += c.stream ? rest : whole;
      ok = flush(t.fd, c) && finish(t.fd, c);
    }
    if (!ok) closeConn(t.fd);
  };

  std::vector<epoll_event> events(256);
  char buf[65536];
  while (!stop_) {
    int timeout = -1;
    if (!timers.empty()) {
      auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(timers.top().due - Clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, wait.count()));
    }
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout);
    // Sub-millisecond timers: spin the last stretch (a benchmark backend, on its own thread).
    while (!timers.empty() && timers.top().due <= Clock::now() + std::chrono::microseconds(900)) {
      while (Clock::now() < timers.top().due) {
      }
      Timer t = timers.top();
      timers.pop();
      fire(t);
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) continue;
      if (fd == listen_fd_) {
        for (int c;
             (c = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          epoll_event a{};
          a.events = EPOLLIN;
          a.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &a);
          conns[c];
          std::lock_guard lock(mu_);
          ++stats_.connections;
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      Conn& c = it->second;
      bool ok = true;
      if (events[i].events & EPOLLOUT) ok = flush(fd, c);
      if (ok && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        for (;;) {
          ssize_t r = recv(fd, buf, sizeof(buf), 0);
          if (r > 0) {
            c.in.append(buf, static_cast<size_t>(r));
            continue;
          }
          if (r == 0 || errno != EAGAIN) ok = false;
          break;
        }
        if (ok) ok = serve(fd, c);
      }
      if (!ok) closeConn(fd);
    }
  }
  for (auto& [fd, c] : conns) close(fd);
  close(ep);
}

}  // namespace sb::bench
