#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sb/core/clock.h"
#include "sb/core/event_loop.h"

namespace sb::http {

// TLS on a listener (GnuTLS, through libmicrohttpd): PEM files, read at start and again on
// reloadTls().
struct TlsOptions {
  std::string cert_file;  // the certificate, then any intermediates
  std::string key_file;   // its private key (unencrypted)
  // A GnuTLS priority string: TLS 1.2 and 1.3 with GnuTLS's default ciphers (Mozilla's
  // "intermediate" profile allows the same versions).
  std::string priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
};

struct ServerOptions {
  std::string host = "127.0.0.1";        // an IPv4 or IPv6 address ("0.0.0.0", "::")
  uint16_t port = 0;                     // 0: any free port (port() tells which)
  size_t max_body = size_t{4} << 20;     // the bus's own default cap (router and workers)
  size_t max_header = size_t{32} << 10;  // the request line and headers together
  unsigned max_connections = 10000;
  // From a connection's start, or the end of its previous request, to the end of the next
  // request's headers (HAProxy's `timeout http-request`): slow or silent clients are cut.
  Millis header_timeout{30000};
  unsigned idle_timeout_s = 120;  // no traffic at all on a connection not waiting on us
  // Response bytes a stream may hold for a client that does not read them; beyond, the
  // client is treated as gone.
  size_t max_pending_output = size_t{1} << 20;
  std::optional<TlsOptions> tls;  // unset: plain HTTP
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpServer;

// One HTTP request and its response, shared between the server and the handler that answers
// it (asynchronously: the answer may come much later, from another callback). Either
// respond() once, or startStream(), write() pieces and end(). Once the client is gone,
// everything is ignored and `onClose` has run.
class Exchange {
 public:
  Exchange() = default;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange();
  const std::string& method() const { return method_; }
  const std::string& path() const { return path_; }  // without the query string
  // A request header (names case-insensitive); "" if absent.
  std::string header(std::string_view name) const;
  // A query-string argument (`?verbose`, `?name=value`), decoded; nullopt if absent.
  std::optional<std::string> query(std::string_view name) const;
  const std::string& body() const { return body_; }
  // The body was over the server's max_body: it was not kept (answer 413).
  bool bodyTooLarge() const { return too_large_; }
  const std::string& peer() const { return peer_; }
  TimePoint started() const { return started_; }
  // Who made the request, once the handler knows (an API key's name): for access logs.
  void setPrincipal(std::string who) { principal_ = std::move(who); }
  const std::string& principal() const { return principal_; }

  void respond(int status, const Headers& headers, std::string body);
  void startStream(int status, const Headers& headers);
  void write(std::string_view bytes);
  void end();

  // The client left (or was cut) before its response ended: called once, from the loop.
  void onClose(std::function<void()> fn) { on_close_ = std::move(fn); }
  bool closed() const { return closed_; }
  bool responded() const { return status_ != 0; }
  int status() const { return status_; }

 private:
  friend class HttpServer;
  friend struct ServerGlue;
  void clientGone();
  void wake();

  HttpServer* server_ = nullptr;  // null once the server is gone
  void* connection_ = nullptr;    // MHD_Connection
  std::string method_, path_, body_, peer_, principal_;
  std::map<std::string, std::string, std::less<>> headers_;  // lower-case names
  std::map<std::string, std::string, std::less<>> query_;
  TimePoint started_{};
  int status_ = 0;
  void* response_ = nullptr;  // MHD_Response waiting to be queued
  bool streaming_ = false, ended_ = false, closed_ = false, failed_ = false;
  bool dispatched_ = false, suspended_ = false, too_large_ = false;
  std::string out_;  // stream bytes not yet taken by the server
  size_t out_pos_ = 0;
  std::function<void()> on_close_;
  int watched_fd_ = -1;  // the socket, watched while suspended for a client that leaves
};

using ExchangePtr = std::shared_ptr<Exchange>;

// An HTTP/1.1 server (libmicrohttpd) on the process's event loop: MHD in external epoll mode,
// its one epoll fd and its timeout joined to the loop, no thread per connection. Requests
// wait suspended while their handler works, so thousands of slow requests and open streams
// cost a connection each and nothing more. Keep-alive and pipelining as MHD does them.
// Bodies over `max_body` get 413, headers over `max_header` 431, and clients too slow to send
// their headers are cut. With `tls`, HTTPS through MHD's GnuTLS, its certificate reloadable.
class DepartureWatch;
class TlsCredentials;
template <class Credentials>
class TlsGenerations;

class HttpServer {
 public:
  using Handler = std::function<void(const ExchangePtr&)>;

  HttpServer(EventLoop& loop, ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts; an error message if it cannot.
  std::optional<std::string> start();
  uint16_t port() const { return port_; }
  size_t connections() const { return conns_.size(); }
  size_t requests() const { return live_.size(); }
  bool tls() const { return options_.tls.has_value(); }

  // Reads the TLS certificate and key files again: connections made from now on get the new
  // ones, open connections keep theirs. On an error the ones in force stay.
  std::optional<std::string> reloadTls();
  // The served certificate's notAfter, in seconds since the epoch (nullopt without TLS).
  std::optional<int64_t> tlsNotAfter() const;

  // Graceful stop (nginx's graceful quit): stops listening, closes connections idle between
  // requests, answers what arrives on open ones with `Connection: close`, and calls
  // `on_drained` from the loop once no request is left. Idempotent.
  void drain(std::function<void()> on_drained);
  bool draining() const { return draining_; }

 private:
  friend class Exchange;
  struct Conn {
    int fd = -1;
    TimePoint waiting_since{};  // start, or the end of the previous request
    bool in_request = false;
    uint64_t tls_generation = 0;  // which certificates it may hold (TlsGenerations)
  };
  friend struct ServerGlue;  // libmicrohttpd's C callbacks (http_server.cpp)
  bool queue(Exchange& ex);
  void suspend(Exchange& ex);
  void resume(Exchange& ex);
  void unwatch(Exchange& ex);
  void run();
  void scheduleRun();
  void sweep();
  void checkDrained();
  std::optional<std::string> loadTls();

  EventLoop& loop_;
  ServerOptions options_;
  Handler handler_;
  void* daemon_ = nullptr;  // MHD_Daemon
  uint16_t port_ = 0;
  std::unordered_map<void*, Conn> conns_;            // by MHD_Connection
  std::unordered_map<Exchange*, ExchangePtr> live_;  // requests not completed yet
  std::unique_ptr<DepartureWatch> departures_;       // suspended connections' sockets
  std::unique_ptr<TlsGenerations<TlsCredentials>> tls_;
  bool draining_ = false;
  std::function<void()> on_drained_;
  LoopHandle epoll_watch_, timer_, run_soon_, sweep_timer_, drained_post_;
};

}  // namespace sb::http
