#pragma once

// The router with its peers on one simulated-time loop: the real Router, real Workers, and raw
// DEALER sockets for a client and for workers that misbehave on purpose, all over inproc. A
// test steps the loop (settle) or moves time (advance) and reads what each peer received.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "router.h"
#include "sb/bus/worker.h"
#include "sb/proto/announcement.h"
#include "sb/proto/header_codec.h"

namespace sb::test {

// What a raw peer received: the header decoded into owned fields, and the body.
struct Received {
  proto::Kind kind = proto::Kind::kHeartbeat;
  uint64_t id = 0;
  proto::ErrorCode code = proto::ErrorCode::kOk;
  std::string message;
  uint64_t deadline_ms = 0;
  std::string envelope;  // worker link only
  std::string body;
};

// A DEALER the test drives by hand: a client (2 frames) or a worker (3 frames).
class RawPeer {
 public:
  RawPeer(zmq::context_t& ctx, const std::string& endpoint, bool worker);
  // Sends the given frames as one message.
  void sendFrames(const std::vector<std::string>& frames);
  // Client: a request; extra header keys are not needed by these tests.
  void request(uint64_t id, const std::string& svc, const std::string& op,
               const std::string& body = {}, uint64_t dl = 0, bool idempotent = false,
               const std::string& to = {});
  void cancel(uint64_t id);
  // Worker: control frames and answers.
  void ready(const proto::Announcement& a);
  void control(proto::Kind kind);
  void answer(const std::string& envelope, uint64_t id, proto::Kind kind,
              proto::ErrorCode code = proto::ErrorCode::kOk, const std::string& body = {});
  // Everything received so far (heartbeats dropped unless asked for).
  std::vector<Received> received(bool heartbeats = false);

 private:
  zmq::socket_t socket_;
  bool worker_;
};

class RouterSim : public ::testing::Test {
 protected:
  void SetUp() override { startRouter(); }
  virtual void configure(router::RouterOptions&) {}

  void startRouter();
  // Delivers everything in flight between the peers, without moving time.
  void settle();
  // Moves time, with everything delivered along the way; the raw workers in `alive` heartbeat
  // every 100 ms meanwhile.
  void advance(SteadyClock::duration d, const std::vector<RawPeer*>& alive = {});

  std::unique_ptr<RawPeer> client();
  std::unique_ptr<RawPeer> rawWorker();
  // A real worker of `service`, registered; `setup` registers its handlers.
  Worker& worker(const std::string& name, const std::string& service, uint32_t capacity,
                 const std::function<void(Worker&)>& setup);
  // router.status, through a raw client.
  nlohmann::json status();
  bool registered(const std::string& name);

  zmq::context_t ctx_{1};
  ManualClock clock_;
  SeededRandom random_{3};
  EventLoop loop_{clock_, random_};
  router::RouterOptions options_;
  std::unique_ptr<router::Router> router_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<RawPeer> admin_;
  uint64_t admin_ids_ = 1'000'000;
};

}  // namespace sb::test
