#include "model_directory.h"

#include <spdlog/spdlog.h>

#include "sb/core/json_body.h"

namespace sb::edge {

using json = nlohmann::json;

ModelDirectory::ModelDirectory(EventLoop& loop, AsyncClient& bus, Millis refresh,
                               std::string service)
    : loop_(loop), bus_(bus), refresh_every_(refresh), service_(std::move(service)) {}

void ModelDirectory::start() {
  refresh();
  timer_ = loop_.every(refresh_every_, [this] { refresh(); });
}

void ModelDirectory::refresh() {
  if (inflight_) return;
  CallOptions o;
  o.deadline = Millis(2000);
  inflight_ = bus_.send("router", "status", {}, o, [this](const Incoming& in) {
    if (in.kind == proto::Kind::kChunk) return;
    inflight_ = 0;
    bool ok = in.kind == proto::Kind::kReply;
    router_answered_ = ok;
    if (ok)
      apply(unpackJsonValue(in.body));
    else
      spdlog::warn("model list: router status failed: {}", in.message);
    answerWaiting(ok);
  });
}

void ModelDirectory::apply(const json& status) {
  bool any = false;
  TimePoint now = loop_.now();
  for (auto& [id, k] : models_) k.live = false;
  int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(loop_.wallNow().time_since_epoch()).count();
  auto workers = status.is_object() ? status.find("workers") : status.end();
  if (status.is_object() && workers != status.end() && workers->is_array()) {
    for (const json& w : *workers) {
      if (!w.is_object() || w.value("service", "") != service_ || w.value("draining", false))
        continue;
      auto list = w.find("models");
      if (list == w.end() || !list->is_array() || list->empty()) {
        any = true;
        continue;
      }
      for (const json& m : *list) {
        if (!m.is_string()) continue;
        auto [it, fresh] = models_.try_emplace(m.get<std::string>());
        if (fresh) it->second.created = now_s;
        it->second.last_seen = now;
        it->second.live = true;
      }
    }
  }
  std::erase_if(models_, [&](const auto& kv) { return now - kv.second.last_seen > kRemember; });
  any_model_ = any;
  loaded_ = true;
}

void ModelDirectory::answerWaiting(bool reachable) {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& fn : waiting) fn(reachable);
}

bool ModelDirectory::served(const std::string& model) const {
  auto it = models_.find(model);
  return any_model_ || (it != models_.end() && loop_.now() - it->second.last_seen <= kRemember);
}

void ModelDirectory::check(const std::string& model, std::function<void(bool served)> done) {
  if (loaded_ && served(model)) return done(true);
  // (Unknown models wait for the next status; requests arriving meanwhile share it, so the
  // router sees at most one status request from us at a time.)
  waiting_.emplace_back(
      [this, model, done = std::move(done)](bool reachable) { done(!reachable || served(model)); });
  refresh();
}

json ModelDirectory::modelObject(const std::string& id) const {
  auto it = models_.find(id);
  return {{"id", id},
          {"object", "model"},
          {"created", it != models_.end() ? it->second.created : 0},
          {"owned_by", "switchboard"}};
}

void ModelDirectory::list(std::function<void(json)> done) {
  live([done = std::move(done)](std::vector<json> models) {
    done({{"object", "list"}, {"data", std::move(models)}});
  });
}

void ModelDirectory::live(std::function<void(std::vector<json>)> done) {
  waiting_.emplace_back([this, done = std::move(done)](bool) {
    std::vector<json> data;
    for (const auto& [id, known] : models_) {
      if (known.live) data.push_back(modelObject(id));
    }
    done(std::move(data));
  });
  refresh();
}

}  // namespace sb::edge
