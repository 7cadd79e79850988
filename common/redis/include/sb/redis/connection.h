#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sb/core/clock.h"
#include "sb/core/event_loop.h"
#include "sb/redis/reply.h"

struct redisAsyncContext;

namespace sb::redis {

struct Node {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  int port = 0;
  std::string address() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
  bool operator==(const Node& o) const { return host == o.host && port == o.port; }
};

struct ConnectionOptions {
  std::string user;      // an ACL user for AUTH (empty: the default user)
  std::string password;  // AUTH on connect when set (never logged)
  int db = 0;            // SELECT on connect when not 0 (standalone Redis only)
  Millis connect_timeout{1000};
  Millis command_timeout{1000};  // a reply later than this fails the connection
  bool readonly = false;         // send READONLY (reads from a cluster replica)
};

// Why a command got no reply.
enum class Failure : uint8_t { kNone, kConnect, kTimeout, kClosed };

// One hiredis async connection driven by our event loop. Commands sent in the same loop turn
// go out in one write at the end of the turn (hiredis buffers them): that is the
// auto-pipelining. A reply overdue by the command timeout, or a connect that takes too long,
// fails the connection and every command pending on it (a dead master must not hang
// requests). Not reusable once failed.
//
// Lifetime: destroying a connection drops the callbacks of its pending commands without
// calling them. Never destroy one from inside its own callbacks: hand it to
// EventLoop::deleteLater (hiredis is still on the stack).
class Connection {
 public:
  // The reply is the callback's to keep: it may move out of it.
  using Callback = std::function<void(Reply* reply, Failure failure)>;

  Connection(EventLoop& loop, Node node, ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // False if the connection has already failed (the callback is not called then).
  // `allowance`: how much longer than the command timeout this command may take by design
  // (WAIT blocks for up to its own timeout); commands queued behind it get the same room.
  bool send(const std::vector<std::string>& argv, Callback cb, Millis allowance = Millis(0));
  // MULTI, the commands, EXEC. The callback gets EXEC's reply, or the first error Redis gave
  // while queueing (a redirection, say: EXEC then only says EXECABORT), or the failure.
  bool sendTransaction(const std::vector<std::vector<std::string>>& commands, Callback cb);
  bool usable() const { return ctx_ != nullptr; }
  bool connected() const { return connected_; }
  size_t pending() const { return due_.size(); }
  const Node& node() const { return node_; }
  // Fails the connection if its oldest command or its connect is overdue. Call periodically.
  void checkTimeouts(TimePoint now);

 private:
  struct Pending;
  struct Transaction;
  // Hands one command to hiredis; false if hiredis refused it.
  bool append(const std::vector<std::string>& argv, void (*fn)(redisAsyncContext*, void*, void*),
              void* privdata, Millis allowance = Millis(0));
  Failure failureOfMissingReply() const;
  static void onReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void onTransactionReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void onConnect(const redisAsyncContext* ac, int status);
  static void onDisconnect(const redisAsyncContext* ac, int status);
  static void addRead(void* p);
  static void delRead(void* p);
  static void addWrite(void* p);
  static void delWrite(void* p);
  static void cleanup(void* p);
  void updateEvents();
  void fail(Failure why);

  EventLoop& loop_;
  Node node_;
  ConnectionOptions options_;
  redisAsyncContext* ctx_ = nullptr;
  int fd_ = -1;
  bool reading_ = false;
  bool writing_ = false;
  bool connected_ = false;
  bool closing_ = false;  // in the destructor: pending callbacks are dropped, not called
  LoopHandle watch_;      // the socket, on the loop
  LoopHandle flush_;      // the end-of-round write
  TimePoint started_;
  Failure failing_ = Failure::kNone;
  // When each pending command's reply is due, oldest first. Replies come in order, so a
  // command behind a slow one is due no earlier than it: the deadlines never decrease.
  std::deque<TimePoint> due_;
  std::string scratch_;  // one command's RESP, reused
};

}  // namespace sb::redis
