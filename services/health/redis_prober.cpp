#include "redis_prober.h"

#include <sstream>

namespace sb::health {

namespace {

std::string failureText(redis::Failure f) {
  switch (f) {
    case redis::Failure::kConnect:
      return "cannot connect";
    case redis::Failure::kTimeout:
      return "timed out";
    case redis::Failure::kClosed:
      return "connection closed";
    default:
      return "no reply";
  }
}

// "cluster_state:ok\r\n..." -> "ok".
std::string clusterState(const std::string& info) {
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("cluster_state:", 0) == 0) {
      std::string v = line.substr(14);
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
      return v;
    }
  }
  return "unknown";
}

}  // namespace

RedisProber::RedisProber(EventLoop& loop, std::vector<redis::Node> seeds,
                         redis::ConnectionOptions options)
    : loop_(loop), options_(std::move(options)) {
  for (auto& n : seeds) {
    std::string a = n.address();
    targets_[a].node = std::move(n);
    states_[a].address = a;
  }
  timeouts_ = loop_.every(Millis(100), [this] {
    for (auto& [a, t] : targets_)
      if (t.conn) t.conn->checkTimeouts(loop_.now());
  });
}

RedisProber::~RedisProber() = default;

void RedisProber::probe() {
  for (auto& [address, t] : targets_) probeOne(t);
}

void RedisProber::failed(const std::string& address, const std::string& why, TimePoint sent) {
  RedisState& s = states_[address];
  s.address = address;
  s.up = false;
  s.rtt_ms.reset();
  s.error = why;
  if (on_probe_) on_probe_(std::chrono::duration<double>(loop_.now() - sent).count(), false);
}

void RedisProber::probeOne(Target& t) {
  std::string address = t.node.address();
  if (t.conn && !t.conn->usable()) loop_.deleteLater(std::move(t.conn));
  if (t.conn && t.conn->pending() > 0) return;  // the previous round's probe is still out
  if (!t.conn) t.conn = std::make_unique<redis::Connection>(loop_, t.node, options_);
  TimePoint sent = loop_.now();
  bool ok = t.conn->send({"PING"}, [this, address, sent](redis::Reply* r, redis::Failure f) {
    if (f != redis::Failure::kNone) return failed(address, failureText(f), sent);
    if (r->isError()) return failed(address, "PING: " + r->str, sent);
    RedisState& s = states_[address];
    s.up = true;
    s.error.clear();
    s.rtt_ms = std::chrono::duration<double, std::milli>(loop_.now() - sent).count();
    if (on_probe_) on_probe_(*s.rtt_ms / 1000, true);
  });
  if (!ok) return failed(address, "cannot connect", sent);
  t.conn->send({"CLUSTER", "INFO"}, [this, address](redis::Reply* r, redis::Failure f) {
    if (f != redis::Failure::kNone) return;
    RedisState& s = states_[address];
    if (r->isError()) {  // cluster support disabled: a standalone node
      s.cluster_state.reset();
      s.role = "standalone";
      return;
    }
    s.cluster_state = clusterState(r->str);
  });
  t.conn->send({"CLUSTER", "NODES"}, [this](redis::Reply* r, redis::Failure f) {
    if (f == redis::Failure::kNone && !r->isError() && r->type == redis::Reply::Type::kString)
      readClusterNodes(r->str);
  });
}

// CLUSTER NODES: "<id> <ip:port@cport[,hostname]> <flags> <master> ..." per line.
void RedisProber::readClusterNodes(const std::string& text) {
  std::istringstream in(text);
  for (auto& [a, t] : targets_) t.listed = !t.discovered;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, addr, flags;
    if (!(fields >> id >> addr >> flags)) continue;
    if (flags.find("noaddr") != std::string::npos || flags.find("handshake") != std::string::npos)
      continue;
    addr = addr.substr(0, addr.find('@'));
    size_t colon = addr.rfind(':');
    if (colon == std::string::npos || colon == 0) continue;
    redis::Node node;
    node.host = addr.substr(0, colon);
    if (node.host.size() > 2 && node.host.front() == '[')
      node.host = node.host.substr(1, node.host.size() - 2);
    try {
      node.port = std::stoi(addr.substr(colon + 1));
    } catch (const std::exception&) {
      continue;
    }
    if (node.port <= 0 || node.port > 65535) continue;
    std::string a = node.address();
    Target& t = targets_[a];
    if (t.node.port == 0) {
      t.node = node;
      t.discovered = true;
    }
    t.listed = true;
    RedisState& s = states_[a];
    s.address = a;
    s.role = flags.find("master") != std::string::npos ? "master" : "replica";
    if (flags.find("fail") != std::string::npos && flags.find("fail?") == std::string::npos) {
      s.up = false;
      if (s.error.empty()) s.error = "marked failed by the cluster";
    }
  }
  // Nodes that left the cluster are no longer watched.
  for (auto it = targets_.begin(); it != targets_.end();) {
    if (it->second.discovered && !it->second.listed) {
      if (it->second.conn) loop_.deleteLater(std::move(it->second.conn));
      states_.erase(it->first);
      it = targets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace sb::health
