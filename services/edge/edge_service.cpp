#include "edge_service.h"

#include "chat_completion_request.h"
#include "embeddings_request.h"
#include "embeddings_response.h"
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

EdgeService::EdgeService(EventLoop& loop, AsyncClient& bus, const EdgeOptions& options)
    : loop_(loop),
      bus_(bus),
      options_(options),
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
  if (path == "/v1/chat/completions" || path == "/chat/completions") {
    if (method != "POST") {
      return sendError(
          ex, headers,
          {405, "Use POST for " + path, "invalid_request_error", "method_not_allowed", ""});
    }
    return chatCompletions(ex, headers, request_id);
  }
  if (path == "/v1/embeddings" || path == "/embeddings") {
    if (method != "POST") {
      return sendError(
          ex, headers,
          {405, "Use POST for " + path, "invalid_request_error", "method_not_allowed", ""});
    }
    return embeddings(ex, headers);
  }
  if (path == "/v1/models" || path.rfind("/v1/models/", 0) == 0) {
    if (method != "GET" && method != "HEAD") {
      return sendError(
          ex, headers,
          {405, "Use GET for " + path, "invalid_request_error", "method_not_allowed", ""});
    }
    return models(ex, headers, path.size() > 11 ? path.substr(11) : "");
  }
  sendError(ex, headers,
            {404, "Unknown request URL: " + method + " " + path, "invalid_request_error",
             "unknown_url", ""});
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

void EdgeService::sendError(const http::ExchangePtr& ex, http::Headers headers,
                            const HttpError& e) {
  addErrorHeaders(e, options_.retry_after, headers);
  sendJson(ex, e.status, std::move(headers), e.body());
  accessLog(ex, {});
}

void EdgeService::models(const http::ExchangePtr& ex, const http::Headers& headers,
                         std::string id) {
  models_.live([this, ex, headers, id = std::move(id)](std::vector<json> chat) mutable {
    embed_models_.live([this, ex, headers, id = std::move(id),
                        chat = std::move(chat)](const std::vector<json>& embed) {
      listModels(ex, headers, id, chat, embed);
    });
  });
}

void EdgeService::listModels(const http::ExchangePtr& ex, const http::Headers& headers,
                             const std::string& id, const std::vector<json>& chat,
                             const std::vector<json>& embed) {
  json list = {{"object", "list"}, {"data", json::array()}};
  for (const auto* part : {&chat, &embed}) {
    for (const json& m : *part) {
      bool dup = std::any_of(list["data"].begin(), list["data"].end(),
                             [&](const json& o) { return o["id"] == m["id"]; });
      if (!dup) list["data"].push_back(m);
    }
  }
  if (ex->closed()) return;
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
                                  const std::string& request_id) {
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
  uint64_t id = next_call_++;
  std::string model_name = req.model;
  models_.check(
      model_name, [this, ex, headers, request_id, id, req = std::move(req)](bool served) mutable {
        if (ex->closed()) return;
        if (!served) return sendError(ex, headers, modelNotFound(req.model));
        auto call = std::make_unique<ChatCall>(
            loop_, bus_, options_, ex, headers, request_id, std::move(req),
            [this, ex, id](const CallSummary& s) {
              accessLog(ex, s);
              auto it = calls_.find(id);
              if (it == calls_.end()) return;
              loop_.deleteLater(std::move(it->second));  // (we may be inside its callbacks)
              calls_.erase(it);
            });
        ChatCall* raw = call.get();
        calls_.emplace(id, std::move(call));
        raw->start();
      });
}

void EdgeService::embeddings(const http::ExchangePtr& ex, const http::Headers& headers) {
  if (ex->bodyTooLarge()) {
    return sendError(ex, headers,
                     {413, "The request body is larger than this server takes",
                      "invalid_request_error", "request_too_large", ""});
  }
  EmbeddingsRequest req;
  if (auto err = parseEmbeddingsRequest(ex->header("content-type"), ex->body(), {}, req)) {
    return sendError(ex, headers, *err);
  }
  std::string model = req.model;
  embed_models_.check(model, [this, ex, headers, req = std::move(req)](bool served) {
    if (ex->closed()) return;
    if (!served) return sendError(ex, headers, modelNotFound(req.model, "embedding worker"));
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
                             base64 = req.base64](const Incoming& in) {
                              if (in.kind == proto::Kind::kChunk) return;
                              embeds_.erase(in.id);
                              ex->onClose(nullptr);
                              embedded(ex, headers, model, n, base64, in);
                            });
    embeds_.emplace(id, ex);
    ex->onClose([this, id] {
      embeds_.erase(id);
      bus_.cancel(id);
    });
  });
}

void EdgeService::embedded(const http::ExchangePtr& ex, http::Headers headers,
                           const std::string& model, size_t inputs, bool base64,
                           const Incoming& in) {
  if (ex->closed()) return;
  CallSummary summary;
  summary.model = model;
  if (in.kind == proto::Kind::kError) {
    return sendError(ex, std::move(headers), fromStatus({in.code, in.message}));
  }
  std::string out;
  EmbeddingsSummary s;
  if (auto st = renderEmbeddings(in.body, inputs, base64, model, out, s); !st.ok()) {
    spdlog::error("embeddings: {}", st.message);
    return sendError(ex, std::move(headers), fromStatus(st));
  }
  headers.emplace_back("Content-Type", "application/json");
  ex->respond(200, headers, std::move(out));
  summary.prompt_tokens = s.prompt_tokens;
  accessLog(ex, summary);
}

std::string EdgeService::metricsText() {
  metrics_.registry()
      .gauge("sb_edge_inflight_requests", "Chat completions and embeddings requests in flight")
      .set(static_cast<double>(calls_.size() + embeds_.size()));
  return metrics_.text();
}

void EdgeService::accessLog(const http::ExchangePtr& ex, const CallSummary& s) {
  int status = ex->closed() && !ex->responded() ? 499 : ex->status();
  metrics_.finished(ex->path(), status, s,
                    std::chrono::duration<double>(loop_.now() - ex->started()).count());
  if (!options_.access_log) return;
  auto ms = std::chrono::duration_cast<Millis>(loop_.now() - ex->started()).count();
  spdlog::info(
      "access {} {} {} status={} key=- model={} prompt_tokens={} completion_tokens={} "
      "ttft_ms={} duration_ms={}{}",
      ex->peer(), ex->method(), ex->path(), status, s.model, s.prompt_tokens, s.completion_tokens,
      s.first_token.count(), ms, ex->closed() && ex->status() == 200 ? " client_closed" : "");
}

}  // namespace sb::edge
