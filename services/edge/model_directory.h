#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sb/bus/async_client.h"

namespace sb::edge {

// The models the live workers of one service (`infer`, `embeddings`) announce, read from the
// router's status and kept fresh on an interval. A model not in the list is checked against a fresh
// status before it is called unknown, so a worker that registered a moment ago is found; a worker
// that serves any model (it announced none) makes every model served.
class ModelDirectory {
 public:
  ModelDirectory(EventLoop& loop, AsyncClient& bus, Millis refresh, std::string service);

  void start();
  // `done(served)`: at once when the model is known, else after a fresh status. When the
  // router cannot be asked, the model counts as served (the request then gets the bus's own
  // error). A model whose workers all left within the last `kRemember` still counts as
  // served: its requests go to the router, which waits for a worker and answers 503 if none
  // comes (clients retry that), so restarting the only worker is not a burst of 404s.
  void check(const std::string& model, std::function<void(bool served)> done);
  // {"object": "list", "data": [{id, object: "model", created, owned_by}]}, after a fresh
  // status.
  void list(std::function<void(nlohmann::json)> done);
  // The live models, after a fresh status (for a list merged from several directories).
  void live(std::function<void(std::vector<nlohmann::json>)> done);
  // The router answered the latest status request (readiness).
  bool routerAnswered() const { return router_answered_; }

 private:
  void refresh();
  void apply(const nlohmann::json& status);
  void answerWaiting(bool reachable);
  bool served(const std::string& model) const;
  nlohmann::json modelObject(const std::string& id) const;

  EventLoop& loop_;
  AsyncClient& bus_;
  Millis refresh_every_;
  std::string service_;
  struct Known {
    int64_t created = 0;    // first seen (unix seconds): stable while the model is served
    TimePoint last_seen{};  // in the latest status that listed it
    bool live = false;      // listed by the latest status
  };
  static constexpr Millis kRemember{30000};
  std::map<std::string, Known> models_;
  bool any_model_ = false;
  bool loaded_ = false;
  bool router_answered_ = false;
  uint64_t inflight_ = 0;
  std::vector<std::function<void(bool reachable)>> waiting_;
  LoopHandle timer_;
};

}  // namespace sb::edge
