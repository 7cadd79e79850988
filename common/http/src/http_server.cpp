#include "sb/http/http_server.h"

#include "departure_watch.h"
#include "tls_credentials.h"
#include "tls_generations.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>

#include <spdlog/spdlog.h>

namespace sb::http {

namespace {

MHD_Connection* mhd(void* c) { return static_cast<MHD_Connection*>(c); }
MHD_Daemon* daemonOf(void* d) { return static_cast<MHD_Daemon*>(d); }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

std::string peerOf(MHD_Connection* c) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!info || !info->client_addr) return "-";
  char buf[INET6_ADDRSTRLEN] = "-";
  const sockaddr* a = info->client_addr;
  if (a->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr, buf, sizeof(buf));
  else if (a->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, buf, sizeof(buf));
  return buf;
}

void addHeaders(MHD_Response* r, const Headers& headers) {
  for (const auto& [name, value] : headers) MHD_add_response_header(r, name.c_str(), value.c_str());
}

}  // namespace

// libmicrohttpd's C callbacks: each runs inside the loop's exception boundary.
struct ServerGlue {
  static MHD_Result access(void* cls, MHD_Connection* c, const char* url, const char* method,
                           const char* /*version*/, const char* upload, size_t* upload_size,
                           void** con_cls) {
    auto* s = static_cast<HttpServer*>(cls);
    MHD_Result result = MHD_NO;  // (closes the connection)
    s->loop_.guarded("http request",
                     [&] { result = onAccess(*s, c, url, method, upload, upload_size, con_cls); });
    return result;
  }

  static MHD_Result onAccess(HttpServer& s, MHD_Connection* c, const char* url, const char* method,
                             const char* upload, size_t* upload_size, void** con_cls) {
    if (*con_cls == nullptr) {  // the headers are in: a new request
      auto ex = std::make_shared<Exchange>();
      ex->server_ = &s;
      ex->connection_ = c;
      ex->method_ = method ? method : "";
      ex->path_ = url ? url : "";
      ex->peer_ = peerOf(c);
      ex->started_ = s.loop_.now();
      MHD_get_connection_values(c, MHD_HEADER_KIND, &ServerGlue::header, ex.get());
      MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, &ServerGlue::argument, ex.get());
      if (auto it = ex->headers_.find("content-length"); it != ex->headers_.end()) {
        ex->too_large_ = std::strtoull(it->second.c_str(), nullptr, 10) > s.options_.max_body;
      }
      if (auto it = s.conns_.find(c); it != s.conns_.end()) it->second.in_request = true;
      *con_cls = ex.get();
      s.live_.emplace(ex.get(), std::move(ex));
      return MHD_YES;
    }
    Exchange& ex = *static_cast<Exchange*>(*con_cls);
    if (*upload_size > 0) {  // a piece of the body
      if (!ex.too_large_ && ex.body_.size() + *upload_size > s.options_.max_body) {
        ex.too_large_ = true;
        std::string().swap(ex.body_);
      }
      if (!ex.too_large_) ex.body_.append(upload, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    // The whole request is in, or a suspended request was resumed.
    if (ex.closed_) return MHD_NO;
    if (!ex.dispatched_) {
      ex.dispatched_ = true;
      ExchangePtr keep = s.live_.at(&ex);
      try {
        s.handler_(keep);
      } catch (const std::exception& e) {
        spdlog::error("http handler for {} {} failed: {}", ex.method_, ex.path_, e.what());
        if (!ex.responded()) ex.respond(500, {{"Content-Type", "text/plain"}}, "internal error\n");
      }
    }
    if (ex.response_) return s.queue(ex) ? MHD_YES : MHD_NO;
    s.suspend(ex);  // the answer comes later: respond() resumes
    return MHD_YES;
  }

  static MHD_Result header(void* cls, MHD_ValueKind, const char* key, const char* value) {
    auto* ex = static_cast<Exchange*>(cls);
    if (key) ex->headers_[lower(key)] = value ? value : "";
    return MHD_YES;
  }

  static MHD_Result argument(void* cls, MHD_ValueKind, const char* key, const char* value) {
    auto* ex = static_cast<Exchange*>(cls);
    if (key) ex->query_[key] = value ? value : "";
    return MHD_YES;
  }

  static void completed(void* cls, MHD_Connection* c, void** con_cls,
                        MHD_RequestTerminationCode toe) {
    auto* s = static_cast<HttpServer*>(cls);
    s->loop_.guarded("http completed", [&] {
      if (auto it = s->conns_.find(c); it != s->conns_.end()) {
        it->second.in_request = false;
        it->second.waiting_since = s->loop_.now();
      }
      auto* ex = static_cast<Exchange*>(*con_cls);
      *con_cls = nullptr;
      if (!ex) return;
      if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) ex->clientGone();
      ex->closed_ = true;
      ex->connection_ = nullptr;
      s->unwatch(*ex);
      auto node = s->live_.extract(ex);  // the last reference may go with it
      s->checkDrained();
    });
  }

  static void connection(void* cls, MHD_Connection* c, void** socket_context,
                         MHD_ConnectionNotificationCode toe) {
    auto* s = static_cast<HttpServer*>(cls);
    s->loop_.guarded("http connection", [&] {
      if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        auto it = s->conns_.find(c);
        if (it == s->conns_.end()) return;
        if (s->tls_) s->tls_->closed(it->second.tls_generation);
        s->conns_.erase(it);
        return;
      }
      *socket_context = s;  // (how the certificate callback finds its server)
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
      s->conns_[c] = {info ? info->connect_fd : -1, s->loop_.now(), false,
                      s->tls_ ? s->tls_->opened() : 0};
    });
  }

  // GnuTLS asks which certificate to present (in the handshake, inside MHD_run). It has no
  // closure argument: libmicrohttpd makes the connection the session's pointer, and the
  // connection's socket context is its server.
  static int certificate(gnutls_session_t session, const gnutls_datum_t*, int,
                         const gnutls_pk_algorithm_t*, int, gnutls_pcert_st** chain,
                         unsigned* length, gnutls_privkey_t* key) {
    auto* c = static_cast<MHD_Connection*>(gnutls_session_get_ptr(session));
    const MHD_ConnectionInfo* info =
        c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : nullptr;
    auto* s = info ? static_cast<HttpServer*>(info->socket_context) : nullptr;
    if (!s || !s->tls_) return -1;  // (the handshake fails)
    const TlsCredentials& now = s->tls_->current();
    *chain = now.chain();
    *length = now.chainLength();
    *key = now.key();
    return 0;
  }

  static ssize_t read(void* cls, uint64_t, char* buf, size_t max) {
    auto* ex = static_cast<Exchange*>(cls);
    if (ex->failed_ || ex->closed_ || !ex->server_) return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t avail = ex->out_.size() - ex->out_pos_;
    if (avail > 0) {
      size_t n = std::min(avail, max);
      std::memcpy(buf, ex->out_.data() + ex->out_pos_, n);
      ex->out_pos_ += n;
      if (ex->out_pos_ == ex->out_.size()) {
        ex->out_.clear();
        ex->out_pos_ = 0;
      }
      return static_cast<ssize_t>(n);
    }
    if (ex->ended_) return MHD_CONTENT_READER_END_OF_STREAM;
    ex->server_->suspend(*ex);  // nothing to send: wait for write() (returning 0 would spin)
    return 0;
  }

  static void log(void*, const char* fmt, va_list ap) {
    char buf[512];
    std::vsnprintf(buf, sizeof(buf), fmt, ap);
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    spdlog::debug("http server: {}", line);
  }
};

// ---- Exchange

Exchange::~Exchange() {
  if (response_) MHD_destroy_response(static_cast<MHD_Response*>(response_));
}

std::string Exchange::header(std::string_view name) const {
  auto it = headers_.find(lower(name));
  return it != headers_.end() ? it->second : std::string();
}

std::optional<std::string> Exchange::query(std::string_view name) const {
  auto it = query_.find(name);
  if (it == query_.end()) return std::nullopt;
  return it->second;
}

void Exchange::respond(int status, const Headers& headers, std::string body) {
  if (closed_ || status_ != 0 || !server_) return;
  status_ = status;
  MHD_Response* r =
      MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
  addHeaders(r, headers);
  if (server_->draining_) MHD_add_response_header(r, "Connection", "close");
  response_ = r;
  wake();
}

void Exchange::startStream(int status, const Headers& headers) {
  if (closed_ || status_ != 0 || !server_) return;
  status_ = status;
  streaming_ = true;
  MHD_Response* r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, size_t{16} * 1024,
                                                      &ServerGlue::read, this, nullptr);
  addHeaders(r, headers);
  if (server_->draining_) MHD_add_response_header(r, "Connection", "close");
  response_ = r;
  wake();
}

void Exchange::write(std::string_view bytes) {
  if (closed_ || !streaming_ || ended_ || !server_) return;
  out_.append(bytes);
  if (out_.size() - out_pos_ > server_->options_.max_pending_output) {
    // A client that does not read: cut it rather than hold its stream in memory.
    failed_ = true;
    clientGone();
  }
  wake();
}

void Exchange::end() {
  if (closed_ || !streaming_ || ended_) return;
  ended_ = true;
  wake();
}

void Exchange::clientGone() {
  if (closed_) return;
  closed_ = true;
  auto fn = std::move(on_close_);
  on_close_ = nullptr;
  if (fn && server_) server_->loop_.guarded("http close", fn);
}

void Exchange::wake() {
  if (server_ && suspended_) server_->resume(*this);
}

// ---- HttpServer

HttpServer::HttpServer(EventLoop& loop, ServerOptions options, Handler handler)
    : loop_(loop), options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() {
  // Nothing calls back into the application from here: requests still open are detached
  // first (their on_close dropped), then every connection is resumed (MHD requires it) and
  // the daemon stopped.
  for (auto& [raw, ex] : live_) {
    ex->on_close_ = nullptr;
    unwatch(*ex);
    if (ex->suspended_) {
      ex->suspended_ = false;
      MHD_resume_connection(mhd(ex->connection_));
    }
  }
  epoll_watch_.cancel();
  timer_.cancel();
  run_soon_.cancel();
  sweep_timer_.cancel();
  if (daemon_) MHD_stop_daemon(daemonOf(daemon_));
  for (auto& [raw, ex] : live_) ex->server_ = nullptr;
  live_.clear();
}

std::optional<std::string> HttpServer::reloadTls() {
  if (!options_.tls || !tls_) return "this listener has no TLS";
  std::string error;
  auto fresh = TlsCredentials::load(options_.tls->cert_file, options_.tls->key_file, error);
  if (!fresh) return error;
  tls_->replace(std::move(fresh));
  return std::nullopt;
}

std::optional<int64_t> HttpServer::tlsNotAfter() const {
  if (!tls_) return std::nullopt;
  return tls_->current().notAfter();
}

std::optional<std::string> HttpServer::loadTls() {
  std::string error;
  auto first = TlsCredentials::load(options_.tls->cert_file, options_.tls->key_file, error);
  if (!first) return error;
  gnutls_priority_t check = nullptr;
  const char* bad = nullptr;
  int rc = gnutls_priority_init(&check, options_.tls->priorities.c_str(), &bad);
  if (rc < 0) {
    return "TLS priorities '" + options_.tls->priorities +
           "' not understood by GnuTLS at: " + (bad ? bad : "?");
  }
  gnutls_priority_deinit(check);
  tls_ = std::make_unique<TlsGenerations<TlsCredentials>>(std::move(first));
  return std::nullopt;
}

std::optional<std::string> HttpServer::start() {
  // Each connection is a descriptor: let the process have as many as the hard limit allows.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(options_.port);
  if (getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
    return "'" + options_.host + "' is not an IP address";
  sockaddr_storage addr{};
  std::memcpy(&addr, found->ai_addr, found->ai_addrlen);
  bool v6 = found->ai_family == AF_INET6;
  freeaddrinfo(found);
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                   (v6 ? MHD_USE_IPv6 : 0);
  std::vector<MHD_OptionItem> tls_items;
  if (options_.tls) {
    if (auto err = loadTls()) return err;
    flags |= MHD_USE_TLS;
    // (Options taking one pointer carry it in ptr_value.)
    tls_items.push_back(
        {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, reinterpret_cast<void*>(&ServerGlue::certificate)});
    tls_items.push_back(
        {MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(options_.tls->priorities.c_str())});
  }
  tls_items.push_back({MHD_OPTION_END, 0, nullptr});
  MHD_Daemon* d = MHD_start_daemon(
      flags, options_.port, nullptr, nullptr, &ServerGlue::access, this, MHD_OPTION_SOCK_ADDR,
      reinterpret_cast<sockaddr*>(&addr), MHD_OPTION_CONNECTION_LIMIT, options_.max_connections,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options_.max_header, MHD_OPTION_CONNECTION_TIMEOUT,
      options_.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, &ServerGlue::completed, this,
      MHD_OPTION_NOTIFY_CONNECTION, &ServerGlue::connection, this, MHD_OPTION_EXTERNAL_LOGGER,
      &ServerGlue::log, this, MHD_OPTION_ARRAY, tls_items.data(), MHD_OPTION_END);
  if (!d) return "cannot listen on " + options_.host + ":" + port + ": " + std::strerror(errno);
  daemon_ = d;
  const MHD_DaemonInfo* info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info ? info->port : options_.port;
  const MHD_DaemonInfo* ep = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
  if (!ep) return "libmicrohttpd gave no epoll descriptor";
  epoll_watch_ = loop_.addFd(ep->epoll_fd, ZMQ_POLLIN, [this](short) { run(); });
  departures_ = std::make_unique<DepartureWatch>(loop_);
  auto tick = std::max(Millis(50), std::min(Millis(1000), options_.header_timeout / 4));
  sweep_timer_ = loop_.every(tick, [this] { sweep(); });
  run();
  return std::nullopt;
}

bool HttpServer::queue(Exchange& ex) {
  auto* r = static_cast<MHD_Response*>(ex.response_);
  ex.response_ = nullptr;
  MHD_Result ok = MHD_queue_response(mhd(ex.connection_), static_cast<unsigned>(ex.status_), r);
  MHD_destroy_response(r);  // (MHD holds its own reference)
  return ok == MHD_YES;
}

void HttpServer::suspend(Exchange& ex) {
  if (ex.suspended_ || !ex.connection_) return;
  ex.suspended_ = true;
  MHD_suspend_connection(mhd(ex.connection_));
  // A suspended connection is not read, so MHD would not notice its client leaving: watch
  // the socket for the end-of-stream a departing client sends. The watch stays until the
  // exchange completes (a stream suspends between tokens: no epoll_ctl pair per token).
  if (ex.watched_fd_ >= 0) return;
  auto it = conns_.find(ex.connection_);
  if (it == conns_.end() || it->second.fd < 0) return;
  int fd = it->second.fd;
  // The exchange outlives the watch: live_ holds it until MHD completes it, and completion
  // unwatches first.
  Exchange* raw = &ex;
  ex.watched_fd_ = fd;
  departures_->watch(fd, [this, raw] {
    raw->watched_fd_ = -1;
    raw->clientGone();
    resume(*raw);  // MHD sees the closed exchange and drops the connection
  });
}

void HttpServer::unwatch(Exchange& ex) {
  if (ex.watched_fd_ < 0) return;
  if (departures_) departures_->unwatch(ex.watched_fd_);
  ex.watched_fd_ = -1;
}

void HttpServer::resume(Exchange& ex) {
  if (!ex.suspended_) return;
  ex.suspended_ = false;
  MHD_resume_connection(mhd(ex.connection_));
  scheduleRun();
}

void HttpServer::scheduleRun() {
  if (!run_soon_) run_soon_ = loop_.beforePoll([this] { run(); });
}

void HttpServer::run() {
  run_soon_.cancel();
  MHD_run(daemonOf(daemon_));
  // MHD's epoll is edge-triggered inside: work it has seen but not finished (and its own
  // timeouts) only show in its timeout, so a timer runs it again.
  MHD_UNSIGNED_LONG_LONG ms = 0;
  if (MHD_get_timeout(daemonOf(daemon_), &ms) == MHD_YES) {
    timer_ = loop_.after(Millis(static_cast<int64_t>(std::min<MHD_UNSIGNED_LONG_LONG>(ms, 60000))),
                         [this] { run(); });
  } else {
    timer_.cancel();
  }
}

namespace {
constexpr Millis kDrainIdle{500};
}  // namespace

void HttpServer::drain(std::function<void()> on_drained) {
  if (draining_ || !daemon_) return;
  draining_ = true;
  on_drained_ = std::move(on_drained);
  // No new connections: the listening socket is closed (a balancer's next connect goes to
  // another edge), and those open but between requests are shut like slow ones once idle
  // for kDrainIdle (sweep): a connection accepted a moment ago may have its request on the
  // way, and shutting it would fail that request.
  MHD_socket listen_fd = MHD_quiesce_daemon(daemonOf(daemon_));
  if (listen_fd != MHD_INVALID_SOCKET) ::close(listen_fd);
  sweep();
  checkDrained();
}

void HttpServer::checkDrained() {
  if (!draining_ || !live_.empty() || !on_drained_) return;
  // From the loop, not from inside MHD's callback: the owner may destroy the server.
  drained_post_ = loop_.after(Millis(0), [this] {
    auto fn = std::move(on_drained_);
    on_drained_ = nullptr;
    if (fn) fn();
  });
}

void HttpServer::sweep() {
  TimePoint now = loop_.now();
  // While draining, connections between requests go sooner (keep-alive ones would otherwise
  // hold the drain for the header timeout).
  Millis limit =
      draining_ ? std::min(options_.header_timeout, kDrainIdle) : options_.header_timeout;
  for (auto& [c, conn] : conns_) {
    if (conn.in_request || conn.fd < 0 || now - conn.waiting_since < limit) continue;
    // Too slow to send a request: shut the socket, and MHD closes the connection on its
    // next read (it owns the descriptor).
    ::shutdown(conn.fd, SHUT_RDWR);
    conn.waiting_since = TimePoint::max();
  }
  scheduleRun();
}

}  // namespace sb::http
