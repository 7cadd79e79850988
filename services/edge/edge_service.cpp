#include "edge_service.h"

#include "api_auth.h"
#include "chat_completion_request.h"
#include "embeddings_response.h"
#include "rate_limit_headers.h"
#include "sb/proto/body_codec.h"

#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

namespace sb::edge {

using json = nlohmann::json;

namespace {

// Headers a browser front end (and the official SDKs, x-stainless-*) may send.
bool allowedRequestHeader(std::string_view h) {
  static const char* const kAllowed[] = {"authorization",       "content-type",   "x-session-id",
                                         "openai-organization", "openai-project", "x-request-id",
                                         "openai-beta",         "accept"};
  if (h.rfind("x-stainless-", 0) == 0) return true;
  return std::any_of(std::begin(kAllowed), std::end(kAllowed),
                     [&](const char* a) { return h == a; });
}

std::string lowerTrim(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

EdgeService::EdgeService(EventLoop& loop, AsyncClient& bus, const EdgeOptions& options,
                         RateLimiter* limiter)
    : loop_(loop),
      bus_(bus),
      options_(options),
      limiter_(limiter),
      models_(loop, bus, options.models_refresh, "infer"),
      embed_models_(loop, bus, options.models_refresh, "embeddings") {}

EdgeService::~EdgeService() {
  for (auto& [id, ex] : embeds_) ex->onClose(nullptr);
}

void EdgeService::start() {
  models_.start();
  embed_models_.start();
}

std::string EdgeService::newRequestId() {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016llx%08llx",
                static_cast<unsigned long long>(loop_.random().next()),
                static_cast<unsigned long long>(next_call_ & 0xffffffff));
  return buf;
}

void EdgeService::handle(const http::ExchangePtr& ex) {
  std::string request_id = newRequestId();
  http::Headers headers{{"x-request-id", "req_" + request_id}};
  cors(ex, headers);
  const std::string& path = ex->path();
  const std::string& method = ex->method();
  if (method == "OPTIONS") return preflight(ex, headers);
  KeyPtr key;
  if (!authenticate(ex, headers, key)) return;
  if (path == "/v1/chat/completions" || path == "/chat/completions") {
    if (method != "POST") {
      return sendError(
          ex, headers,
          {405, "Use POST for " + path, "invalid_request_error", "method_not_allowed", ""});
    }
    return chatCompletions(ex, headers, request_id, key);
  }
  if (path == "/v1/embeddings" || path == "/embeddings") {
    if (method != "POST") {
      return sendError(
          ex, headers,
          {405, "Use POST for " + path, "invalid_request_error", "method_not_allowed", ""});
    }
    return embeddings(ex, headers, key);
  }
  if (path == "/v1/models" || path.rfind("/v1/models/", 0) == 0) {
    if (method != "GET" && method != "HEAD") {
      return sendError(
          ex, headers,
          {405, "Use GET for " + path, "invalid_request_error", "method_not_allowed", ""});
    }
    return models(ex, headers, path.size() > 11 ? path.substr(11) : "", key);
  }
  sendError(ex, headers,
            {404, "Unknown request URL: " + method + " " + path, "invalid_request_error",
             "unknown_url", ""});
}

bool EdgeService::authenticate(const http::ExchangePtr& ex, const http::Headers& headers,
                               KeyPtr& key) {
  if (!keys_) return true;
  std::string presented = presentedKey(*ex);
  if (!presented.empty()) key = keys_->find(presented);
  if (key) {
    ex->setPrincipal(key->name);
    return true;
  }
  const char* reason = presented.empty() ? "missing" : "invalid";
  metrics_.registry()
      .counter("sb_edge_auth_failures_total", "Requests refused for a missing or unknown API key",
               {{"reason", reason}})
      .inc();
  http::Headers h = headers;
  h.emplace_back("WWW-Authenticate", "Bearer realm=\"switchboard\"");
  sendError(ex, std::move(h), presented.empty() ? missingKey() : invalidKey());
  return false;
}

void EdgeService::admit(const http::ExchangePtr& ex, http::Headers headers, const KeyPtr& key,
                        const std::string& model,
                        std::function<void(http::Headers, const LeasePtr&)> go) {
  if (!key || !key->limited() || !limiter_) {
    return go(std::move(headers), std::make_shared<RateLimiter::Lease>());
  }
  limiter_->admit(key, [this, ex, headers = std::move(headers), key, model, go = std::move(go)](
                           const Admission& a, RateLimiter::Lease lease) mutable {
    if (ex->closed()) return;  // (the lease, dropped, frees its place)
    addRateLimitHeaders(a, headers);
    if (a.allowed)
      return go(std::move(headers), std::make_shared<RateLimiter::Lease>(std::move(lease)));
    CallSummary refused;
    refused.model = model;
    if (!a.checked) {
      HttpError e{503, "The rate limiter cannot be reached; try again shortly", "server_error",
                  "rate_limiter_unavailable", ""};
      return sendError(ex, std::move(headers), e, refused);
    }
    metrics_.registry()
        .counter("sb_edge_rate_limited_total", "Requests refused by a key's limit (429)",
                 {{"key", key->name}, {"limit", a.refused_by}})
        .inc();
    Millis wait = a.refused_by == "concurrent" ? options_.retry_after : Millis(a.retry_ms);
    HttpError e = rateLimited(a, key->name);
    addErrorHeaders(e, std::max(wait, Millis(1)), headers);
    sendJson(ex, e.status, std::move(headers), e.body());
    accessLog(ex, refused);
  });
}

void EdgeService::cors(const http::ExchangePtr& ex, http::Headers& headers) const {
  std::string origin = ex->header("origin");
  if (origin.empty() || options_.cors_origins.empty()) return;
  bool any = std::find(options_.cors_origins.begin(), options_.cors_origins.end(), "*") !=
             options_.cors_origins.end();
  if (!any && std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin) ==
                  options_.cors_origins.end())
    return;
  headers.emplace_back("Access-Control-Allow-Origin", any ? "*" : origin);
  if (!any) headers.emplace_back("Vary", "Origin");
  headers.emplace_back("Access-Control-Expose-Headers",
                       "x-request-id, retry-after, retry-after-ms, x-should-retry");
}

void EdgeService::preflight(const http::ExchangePtr& ex, http::Headers headers) {
  bool allowed = std::any_of(headers.begin(), headers.end(), [](const auto& h) {
    return h.first == "Access-Control-Allow-Origin";
  });
  if (allowed) {
    std::string asked = ex->header("access-control-request-headers"), granted;
    for (size_t at = 0; at <= asked.size();) {
      size_t comma = asked.find(',', at);
      if (comma == std::string::npos) comma = asked.size();
      std::string h = lowerTrim(asked.substr(at, comma - at));
      if (!h.empty() && allowedRequestHeader(h)) granted += (granted.empty() ? "" : ", ") + h;
      at = comma + 1;
    }
    headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    if (!granted.empty()) headers.emplace_back("Access-Control-Allow-Headers", granted);
    headers.emplace_back("Access-Control-Max-Age", "600");
  }
  ex->respond(204, headers, "");
  accessLog(ex, {});
}

void EdgeService::sendJson(const http::ExchangePtr& ex, int status, http::Headers headers,
                           const json& body) {
  headers.emplace_back("Content-Type", "application/json");
  ex->respond(status, headers, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

void EdgeService::sendError(const http::ExchangePtr& ex, http::Headers headers, const HttpError& e,
                            const CallSummary& summary) {
  addErrorHeaders(e, options_.retry_after, headers);
  sendJson(ex, e.status, std::move(headers), e.body());
  accessLog(ex, summary);
}

void EdgeService::models(const http::ExchangePtr& ex, const http::Headers& headers, std::string id,
                         const KeyPtr& key) {
  models_.live([this, ex, headers, id = std::move(id), key](std::vector<json> chat) mutable {
    embed_models_.live(
        [this, ex, headers, id = std::move(id), chat = std::move(chat),
         key](const std::vector<json>& embed) { listModels(ex, headers, id, chat, embed, key); });
  });
}

void EdgeService::listModels(const http::ExchangePtr& ex, const http::Headers& headers,
                             const std::string& id, const std::vector<json>& chat,
                             const std::vector<json>& embed, const KeyPtr& key) {
  if (ex->closed()) return;
  if (!id.empty() && key && !key->allows(id)) return sendError(ex, headers, modelHiddenFromKey(id));
  json list = {{"object", "list"}, {"data", json::array()}};
  for (const auto* part : {&chat, &embed}) {
    for (const json& m : *part) {
      if (key && !key->allows(m.value("id", ""))) continue;  // (a key sees what it may use)
      bool dup = std::any_of(list["data"].begin(), list["data"].end(),
                             [&](const json& o) { return o["id"] == m["id"]; });
      if (!dup) list["data"].push_back(m);
    }
  }
  if (id.empty()) {
    sendJson(ex, 200, headers, list);
    return accessLog(ex, {});
  }
  for (const auto& m : list["data"]) {
    if (m["id"] == id) {
      sendJson(ex, 200, headers, m);
      return accessLog(ex, {});
    }
  }
  sendError(ex, headers, modelNotFound(id, "worker"));
}

void EdgeService::chatCompletions(const http::ExchangePtr& ex, const http::Headers& headers,
                                  const std::string& request_id, const KeyPtr& key) {
  if (ex->bodyTooLarge()) {
    return sendError(ex, headers,
                     {413, "The request body is larger than this server takes",
                      "invalid_request_error", "request_too_large", ""});
  }
  ChatCall::Request req;
  if (auto err = parseChatCompletion(ex->header("content-type"), ex->body(),
                                     ex->header("x-session-id"), req)) {
    return sendError(ex, headers, *err);
  }
  if (key && !key->allows(req.model)) {
    return sendError(ex, headers, modelNotAllowed(req.model, key->name));
  }
  // Each key has its own sessions: two keys sending the same X-Session-Id never see each
  // other's history (a key's name cannot hold ':', so the stored id is unambiguous).
  if (key && !req.session.empty()) req.session = key->name + ":" + req.session;
  std::string model_name = req.model;
  models_.check(model_name,
                [this, ex, headers, request_id, key, req = std::move(req)](bool served) mutable {
                  if (ex->closed()) return;
                  if (!served) return sendError(ex, headers, modelNotFound(req.model));
                  std::string model = req.model;  // (before the lambda below takes req)
                  admit(ex, headers, key, model,
                        [this, ex, request_id, req = std::move(req)](
                            http::Headers h, const LeasePtr& lease) mutable {
                          startChat(ex, std::move(h), request_id, std::move(req), lease);
                        });
                });
}

void EdgeService::startChat(const http::ExchangePtr& ex, http::Headers headers,
                            const std::string& request_id, ChatCall::Request req,
                            const LeasePtr& lease) {
  uint64_t id = next_call_++;
  auto call = std::make_unique<ChatCall>(
      loop_, bus_, options_, ex, std::move(headers), request_id, std::move(req),
      [this, ex, id, lease](const CallSummary& s) {
        lease->settle(std::max<int64_t>(s.prompt_tokens, 0) +
                      std::max<int64_t>(s.completion_tokens, 0));
        accessLog(ex, s);
        auto it = calls_.find(id);
        if (it == calls_.end()) return;
        loop_.deleteLater(std::move(it->second));  // (we may be inside its callbacks)
        calls_.erase(it);
      });
  ChatCall* raw = call.get();
  calls_.emplace(id, std::move(call));
  raw->start();
}

void EdgeService::embeddings(const http::ExchangePtr& ex, const http::Headers& headers,
                             const KeyPtr& key) {
  if (ex->bodyTooLarge()) {
    return sendError(ex, headers,
                     {413, "The request body is larger than this server takes",
                      "invalid_request_error", "request_too_large", ""});
  }
  EmbeddingsRequest req;
  if (auto err = parseEmbeddingsRequest(ex->header("content-type"), ex->body(), {}, req)) {
    return sendError(ex, headers, *err);
  }
  if (key && !key->allows(req.model)) {
    return sendError(ex, headers, modelNotAllowed(req.model, key->name));
  }
  std::string model = req.model;
  embed_models_.check(model, [this, ex, headers, key, req = std::move(req)](bool served) {
    if (ex->closed()) return;
    if (!served) return sendError(ex, headers, modelNotFound(req.model, "embedding worker"));
    admit(ex, headers, key, req.model,
          [this, ex, req](const http::Headers& h, const LeasePtr& lease) {
            startEmbeddings(ex, h, req, lease);
          });
  });
}

void EdgeService::startEmbeddings(const http::ExchangePtr& ex, const http::Headers& headers,
                                  const EmbeddingsRequest& req, const LeasePtr& lease) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(req.dimensions ? 3 : 2);
  pk.pack("model"), pk.pack(req.model);
  pk.pack("inputs"), pk.pack(req.inputs);
  if (req.dimensions) pk.pack("dimensions"), pk.pack(req.dimensions);
  CallOptions o;
  o.model = req.model;
  o.deadline = options_.embeddings_timeout;
  o.idempotent = true;  // the same texts give the same vectors: safe to send again
  uint64_t id = bus_.send("embeddings", "embed", {buf.data(), buf.size()}, o,
                          [this, ex, headers, model = req.model, n = req.inputs.size(),
                           base64 = req.base64, lease](const Incoming& in) {
                            if (in.kind == proto::Kind::kChunk) return;
                            embeds_.erase(in.id);
                            ex->onClose(nullptr);
                            lease->settle(embedded(ex, headers, model, n, base64, in));
                          });
  embeds_.emplace(id, ex);
  ex->onClose([this, id] {
    embeds_.erase(id);
    bus_.cancel(id);
  });
}

int64_t EdgeService::embedded(const http::ExchangePtr& ex, http::Headers headers,
                              const std::string& model, size_t inputs, bool base64,
                              const Incoming& in) {
  if (ex->closed()) return 0;
  CallSummary summary;
  summary.model = model;
  if (in.kind == proto::Kind::kError) {
    sendError(ex, std::move(headers), fromStatus({in.code, in.message}));
    return 0;
  }
  std::string out;
  EmbeddingsSummary s;
  if (auto st = renderEmbeddings(in.body, inputs, base64, model, out, s); !st.ok()) {
    spdlog::error("embeddings: {}", st.message);
    sendError(ex, std::move(headers), fromStatus(st));
    return 0;
  }
  headers.emplace_back("Content-Type", "application/json");
  ex->respond(200, headers, std::move(out));
  summary.prompt_tokens = s.prompt_tokens;
  accessLog(ex, summary);
  return std::max<int64_t>(s.prompt_tokens, 0);
}

void EdgeService::keysReloaded(bool ok) {
  metrics_.registry()
      .counter("sb_edge_api_key_reloads_total", "Reloads of the API key file (SIGHUP), by result",
               {{"result", ok ? "ok" : "error"}})
      .inc();
}

void EdgeService::tlsCertificate(int64_t not_after) {
  metrics_.registry()
      .gauge("sb_edge_tls_certificate_expiry_timestamp_seconds",
             "When the TLS certificate served to new connections expires (its notAfter)")
      .set(static_cast<double>(not_after));
}

void EdgeService::tlsReloaded(bool ok) {
  metrics_.registry()
      .counter("sb_edge_tls_reloads_total",
               "Reloads of the TLS certificate and key files (SIGHUP), by result",
               {{"result", ok ? "ok" : "error"}})
      .inc();
}

std::string EdgeService::metricsText() {
  auto& m = metrics_.registry();
  m.gauge("sb_edge_inflight_requests", "Chat completions and embeddings requests in flight")
      .set(static_cast<double>(calls_.size() + embeds_.size()));
  if (keys_) {
    m.gauge("sb_edge_api_keys", "API keys accepted (0 would refuse every request)")
        .set(static_cast<double>(keys_->size()));
  }
  if (limiter_) {
    const RateLimiterCounters& c = limiter_->counters();
    const char* help =
        "Requests whose limits Redis could not be asked about, by what happened to them "
        "(--rate-limit-on-error)";
    m.counter("sb_edge_rate_limit_redis_errors_total", help, {{"outcome", "allowed"}})
        .mirror(static_cast<double>(c.errors_allowed));
    m.counter("sb_edge_rate_limit_redis_errors_total", help, {{"outcome", "refused"}})
        .mirror(static_cast<double>(c.errors_refused));
  }
  return metrics_.text();
}

void EdgeService::accessLog(const http::ExchangePtr& ex, const CallSummary& s) {
  int status = ex->closed() && !ex->responded() ? 499 : ex->status();
  metrics_.finished(ex->path(), status, s,
                    std::chrono::duration<double>(loop_.now() - ex->started()).count());
  int64_t tokens =
      std::max<int64_t>(s.prompt_tokens, 0) + std::max<int64_t>(s.completion_tokens, 0);
  if (!ex->principal().empty() && tokens > 0) {
    metrics_.registry()
        .counter("sb_edge_key_tokens_total", "Tokens used (prompt and completion), by API key",
                 {{"key", ex->principal()}})
        .inc(static_cast<double>(tokens));
  }
  if (!options_.access_log) return;
  auto ms = std::chrono::duration_cast<Millis>(loop_.now() - ex->started()).count();
  spdlog::info(
      "access {} {} {} status={} key={} model={} prompt_tokens={} completion_tokens={} "
      "ttft_ms={} duration_ms={}{}",
      ex->peer(), ex->method(), ex->path(), status, ex->principal().empty() ? "-" : ex->principal(),
      s.model, s.prompt_tokens, s.completion_tokens, s.first_token.count(), ms,
      ex->closed() && ex->status() == 200 ? " client_closed" : "");
}

}  // namespace sb::edge
