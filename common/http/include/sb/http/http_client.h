#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sb/core/clock.h"
#include "sb/core/event_loop.h"

namespace sb::http {

struct Request {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when non-empty (POST)
  Millis connect_timeout{2000};
  // No overall timeout here: callers own their deadlines and cancel() ends a transfer at once.
};

struct Result {
  bool ok = false;         // the transfer completed (whatever the HTTP status)
  long status = 0;         // HTTP status, 0 when no response arrived
  bool connected = false;  // a connection was made (if not, nothing reached the server)
  std::string error;       // why it did not complete
};

// HTTP client on the process's event loop through libcurl's multi interface: libcurl's sockets
// and timer join the loop (no thread per transfer), and response bytes reach the caller as they
// arrive, for streamed (SSE) responses. A cancelled transfer, and every transfer of a client
// being destroyed, never calls back again. An exception from a callback ends that transfer
// (libcurl is C: nothing may unwind through it).
class HttpClient {
 public:
  using TransferId = uint64_t;
  // Response body bytes as they arrive, with the response's HTTP status.
  using OnData = std::function<void(long status, std::string_view bytes)>;
  using OnDone = std::function<void(const Result&)>;

  explicit HttpClient(EventLoop& loop);
  ~HttpClient();  // aborts what is in flight without calling back
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  TransferId start(Request request, OnData on_data, OnDone on_done);
  // Aborts the transfer and closes its connection; its callbacks are not called any more.
  // Safe from inside its own callbacks.
  void cancel(TransferId id);
  size_t active() const { return transfers_.size(); }

 private:
  struct Transfer;
  static int onSocket(void* easy, int fd, int what, void* self, void* socket_data);
  static int onTimer(void* multi, long timeout_ms, void* self);
  static size_t onWrite(char* data, size_t size, size_t n, void* transfer);
  void act(int fd, int flags);
  void collect();
  void remove(TransferId id);
  void sweep();

  EventLoop& loop_;
  void* multi_ = nullptr;
  std::unordered_map<TransferId, std::unique_ptr<Transfer>> transfers_;
  std::unordered_map<int, LoopHandle> fds_;  // libcurl's sockets, joined to the loop
  LoopHandle timer_;
  LoopHandle sweep_;  // removes cancelled transfers once libcurl is off the stack
  std::vector<TransferId> cancelled_;
  TransferId next_id_ = 1;
};

}  // namespace sb::http
