#include "sb/http/http_client.h"

#include <curl/curl.h>

#include <mutex>

namespace sb::http {

struct HttpClient::Transfer {
  HttpClient* client;
  TransferId id;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Request request;
  OnData on_data;
  OnDone on_done;
  bool cancelled = false;
};

namespace {

CURLM* multiOf(void* p) { return static_cast<CURLM*>(p); }

}  // namespace

HttpClient::HttpClient(EventLoop& loop) : loop_(loop) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURLM* m = curl_multi_init();
  multi_ = m;
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &HttpClient::onSocket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &HttpClient::onTimer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
  // Finished transfers leave their connection in the multi handle's cache, keyed by host, and
  // the next request to that host takes it (keep-alive); the cache is sized for many
  // concurrent streams instead of libcurl's 4 per transfer added so far.
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 1024L);
}

HttpClient::~HttpClient() {
  std::vector<TransferId> ids;
  for (const auto& [id, t] : transfers_) ids.push_back(id);
  for (TransferId id : ids) remove(id);
  curl_multi_cleanup(multiOf(multi_));
  fds_.clear();
}

HttpClient::TransferId HttpClient::start(Request request, OnData on_data, OnDone on_done) {
  auto t = std::make_unique<Transfer>();
  t->client = this;
  t->id = next_id_++;
  t->request = std::move(request);
  t->on_data = std::move(on_data);
  t->on_done = std::move(on_done);
  CURL* e = curl_easy_init();
  t->easy = e;
  curl_easy_setopt(e, CURLOPT_URL, t->request.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(t->request.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpClient::onWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  for (const auto& h : t->request.headers) t->headers = curl_slist_append(t->headers, h.c_str());
  if (t->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  if (t->request.method == "POST" || !t->request.body.empty()) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(t->request.body.size()));
  }
  TransferId id = t->id;
  transfers_.emplace(id, std::move(t));
  curl_multi_add_handle(multiOf(multi_), e);  // the timer callback starts it from the loop
  return id;
}

void HttpClient::cancel(TransferId id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second->cancelled) return;
  it->second->cancelled = true;
  // libcurl forbids removing a handle from inside its callbacks, and cancel may be called from
  // one: the handle goes right after, before the loop waits again.
  cancelled_.push_back(id);
  if (!sweep_) sweep_ = loop_.beforePoll([this] { sweep(); });
}

void HttpClient::sweep() {
  auto ids = std::move(cancelled_);
  cancelled_.clear();
  for (TransferId id : ids) remove(id);
}

void HttpClient::remove(TransferId id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  Transfer* t = it->second.get();
  curl_multi_remove_handle(multiOf(multi_), t->easy);  // closes its connection if mid-transfer
  curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  transfers_.erase(it);
}

size_t HttpClient::onWrite(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  if (t->cancelled) return 0;  // aborts the transfer
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  bool threw = true;
  t->client->loop_.guarded("http data", [&] {
    t->on_data(status, std::string_view(data, size * n));
    threw = false;
  });
  if (threw) t->client->cancel(t->id);
  return t->cancelled ? 0 : size * n;
}

int HttpClient::onSocket(void*, int fd, int what, void* self, void*) {
  auto* c = static_cast<HttpClient*>(self);
  if (what == CURL_POLL_REMOVE) {
    c->fds_.erase(fd);
    return 0;
  }
  short events = static_cast<short>(((what & CURL_POLL_IN) ? ZMQ_POLLIN : 0) |
                                    ((what & CURL_POLL_OUT) ? ZMQ_POLLOUT : 0));
  if (auto it = c->fds_.find(fd); it != c->fds_.end()) {
    c->loop_.setEvents(it->second, events);
    return 0;
  }
  c->fds_[fd] = c->loop_.addFd(fd, events, [c, fd](short revents) {
    int flags = ((revents & ZMQ_POLLIN) ? CURL_CSELECT_IN : 0) |
                ((revents & ZMQ_POLLOUT) ? CURL_CSELECT_OUT : 0) |
                ((revents & ZMQ_POLLERR) ? CURL_CSELECT_ERR : 0);
    c->act(fd, flags);
  });
  return 0;
}

int HttpClient::onTimer(void*, long timeout_ms, void* self) {
  auto* c = static_cast<HttpClient*>(self);
  c->timer_.cancel();
  if (timeout_ms < 0) return 0;
  // Not from inside this callback (libcurl forbids it): from the loop.
  c->timer_ = c->loop_.after(Millis(timeout_ms), [c] { c->act(CURL_SOCKET_TIMEOUT, 0); });
  return 0;
}

void HttpClient::act(int fd, int flags) {
  int running = 0;
  curl_multi_socket_action(multiOf(multi_), fd, flags, &running);
  collect();
}

void HttpClient::collect() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multiOf(multi_), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
    if (!t) continue;
    Result r;
    r.ok = msg->data.result == CURLE_OK;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
    // A connection taken from the cache reports no connect time, but the request went out on
    // it: bytes of request sent count as connected too.
    curl_off_t connect_us = 0;
    long request_bytes = 0;
    curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    r.connected = connect_us > 0 || request_bytes > 0 || r.status != 0;
    if (!r.ok) r.error = curl_easy_strerror(msg->data.result);
    bool cancelled = t->cancelled;
    OnDone done = std::move(t->on_done);
    remove(t->id);
    if (!cancelled && done) loop_.guarded("http done", [&] { done(r); });
  }
}

}  // namespace sb::http
