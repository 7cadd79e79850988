#include "sb/redis/connection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <spdlog/spdlog.h>

#include "sb/redis/bounded_reader.h"
#include "sb/redis/command_format.h"

namespace sb::redis {

struct Connection::Pending {
  Connection* conn;
  Callback cb;
};

Connection::Connection(EventLoop& loop, Node node, ConnectionOptions options)
    : loop_(loop), node_(std::move(node)), options_(std::move(options)) {
  started_ = loop_.now();
  ctx_ = redisAsyncConnect(node_.host.c_str(), node_.port);
  if (!ctx_) return;
  if (ctx_->err) {
    spdlog::warn("redis {}: {}", node_.address(), ctx_->errstr);
    redisAsyncFree(ctx_);
    ctx_ = nullptr;
    return;
  }
  ctx_->data = this;
  boundReader(ctx_->c.reader);  // what a node sends must not make us allocate without bound
  fd_ = ctx_->c.fd;
  ctx_->ev.data = this;
  ctx_->ev.addRead = &Connection::addRead;
  ctx_->ev.delRead = &Connection::delRead;
  ctx_->ev.addWrite = &Connection::addWrite;
  ctx_->ev.delWrite = &Connection::delWrite;
  ctx_->ev.cleanup = &Connection::cleanup;
  redisAsyncSetConnectCallback(ctx_, &Connection::onConnect);
  redisAsyncSetDisconnectCallback(ctx_, &Connection::onDisconnect);
  addWrite(this);  // the connect completes on the first writable event
  if (!options_.password.empty()) {
    std::vector<std::string> auth{"AUTH", options_.password};
    if (!options_.user.empty()) auth = {"AUTH", options_.user, options_.password};
    send(auth, [this](Reply* r, Failure) {
      if (r && r->isError()) {
        spdlog::error("redis {}: authentication failed: {}", node_.address(), r->str);
        fail(Failure::kConnect);
      }
    });
  }
  if (options_.db != 0) {
    send({"SELECT", std::to_string(options_.db)}, [this](Reply* r, Failure) {
      if (r && r->isError()) {
        spdlog::error("redis {}: cannot select database {}: {}", node_.address(), options_.db,
                      r->str);
        fail(Failure::kConnect);
      }
    });
  }
  if (options_.readonly) send({"READONLY"}, [](Reply*, Failure) {});
}

Connection::~Connection() {
  closing_ = true;
  if (ctx_) {
    redisAsyncContext* c = ctx_;
    failing_ = Failure::kClosed;
    redisAsyncFree(c);  // hiredis hands back every pending command; closing_ drops them
    ctx_ = nullptr;
  }
}

struct Connection::Transaction {
  Connection* conn;
  Callback cb;
  size_t replies_left;
  bool failed = false;  // an error while queueing: it is the answer
  Reply error;
};

bool Connection::append(const std::vector<std::string>& argv,
                        void (*fn)(redisAsyncContext*, void*, void*), void* privdata,
                        Millis allowance) {
  scratch_.clear();
  appendCommand(scratch_, argv);
  if (redisAsyncFormattedCommand(ctx_, fn, privdata, scratch_.data(), scratch_.size()) !=
      REDIS_OK) {
    return false;
  }
  TimePoint due = loop_.now() + options_.command_timeout + allowance;
  if (!due_.empty()) due = std::max(due, due_.back());
  due_.push_back(due);
  return true;
}

bool Connection::send(const std::vector<std::string>& argv, Callback cb, Millis allowance) {
  if (!ctx_) return false;
  auto* p = new Pending{this, std::move(cb)};
  if (!append(argv, &Connection::onReply, p, allowance)) {
    delete p;
    return false;
  }
  return true;
}

bool Connection::sendTransaction(const std::vector<std::vector<std::string>>& commands,
                                 Callback cb) {
  if (!ctx_) return false;
  static const std::vector<std::string> multi{"MULTI"}, exec{"EXEC"};
  auto* t = new Transaction{this, std::move(cb), 0, false, {}};
  // hiredis refuses a command only once the context is going away; it then calls back every
  // command it took with no reply, and the last of those ends the transaction.
  size_t taken = append(multi, &Connection::onTransactionReply, t) ? 1 : 0;
  if (taken == 0) {
    delete t;
    return false;
  }
  for (const auto& c : commands) taken += append(c, &Connection::onTransactionReply, t) ? 1 : 0;
  taken += append(exec, &Connection::onTransactionReply, t) ? 1 : 0;
  t->replies_left = taken;  // hiredis never calls back from inside a send
  return true;
}

Failure Connection::failureOfMissingReply() const {
  return failing_ != Failure::kNone ? failing_ : connected_ ? Failure::kClosed : Failure::kConnect;
}

void Connection::onReply(redisAsyncContext*, void* reply, void* privdata) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(privdata));
  Connection* c = p->conn;
  if (!c->due_.empty()) c->due_.pop_front();
  if (c->closing_) return;
  // hiredis is C: nothing may unwind through it.
  c->loop_.guarded("redis reply", [&] {
    if (reply) {
      Reply r = Reply::from(*static_cast<redisReply*>(reply));
      p->cb(&r, Failure::kNone);
    } else {
      p->cb(nullptr, c->failureOfMissingReply());
    }
  });
}

void Connection::onTransactionReply(redisAsyncContext*, void* reply, void* privdata) {
  auto* t = static_cast<Transaction*>(privdata);
  Connection* c = t->conn;
  if (!c->due_.empty()) c->due_.pop_front();
  auto* r = static_cast<redisReply*>(reply);
  if (--t->replies_left > 0) {
    if (r && r->type == REDIS_REPLY_ERROR && !t->failed) {
      t->failed = true;
      t->error = Reply::from(*r);
    }
    return;
  }
  // EXEC's reply (or its absence) ends the transaction.
  std::unique_ptr<Transaction> owned(t);
  if (c->closing_) return;
  c->loop_.guarded("redis reply", [&] {
    if (!r) {
      t->cb(nullptr, c->failureOfMissingReply());
    } else if (t->failed) {
      t->cb(&t->error, Failure::kNone);
    } else {
      Reply out = Reply::from(*r);
      t->cb(&out, Failure::kNone);
    }
  });
}

void Connection::onConnect(const redisAsyncContext* ac, int status) {
  auto* c = static_cast<Connection*>(ac->data);
  if (status == REDIS_OK) {
    c->connected_ = true;
    return;
  }
  // Debug only: the slot client reports nodes going down and up once, not every attempt.
  spdlog::debug("redis {}: connect failed: {}", c->node_.address(), ac->errstr);
  c->ctx_ = nullptr;  // hiredis frees the context after this callback
}

void Connection::onDisconnect(const redisAsyncContext* ac, int) {
  auto* c = static_cast<Connection*>(ac->data);
  if (c->ctx_ && c->failing_ == Failure::kNone) {
    spdlog::warn("redis {}: connection lost: {}", c->node_.address(),
                 ac->errstr ? ac->errstr : "closed");
  }
  c->ctx_ = nullptr;
  c->connected_ = false;
}

void Connection::addRead(void* p) {
  auto* c = static_cast<Connection*>(p);
  c->reading_ = true;
  c->updateEvents();
}
void Connection::delRead(void* p) {
  auto* c = static_cast<Connection*>(p);
  c->reading_ = false;
  c->updateEvents();
}
void Connection::addWrite(void* p) {
  auto* c = static_cast<Connection*>(p);
  c->writing_ = true;
  c->updateEvents();  // POLLOUT stays the way out when the socket buffer is full
  if (!c->connected_ || c->flush_.active()) return;
  // Everything this loop round sends goes out in one write at its end (auto-pipelining).
  c->flush_ = c->loop_.beforePoll([c] {
    if (c->ctx_ && c->writing_) redisAsyncHandleWrite(c->ctx_);
  });
}
void Connection::delWrite(void* p) {
  auto* c = static_cast<Connection*>(p);
  c->writing_ = false;
  c->updateEvents();
}
void Connection::cleanup(void* p) {
  auto* c = static_cast<Connection*>(p);
  c->reading_ = c->writing_ = false;
  c->watch_.cancel();
  c->flush_.cancel();
}

void Connection::updateEvents() {
  short events = static_cast<short>((reading_ ? ZMQ_POLLIN : 0) | (writing_ ? ZMQ_POLLOUT : 0));
  if (watch_) {
    loop_.setEvents(watch_, events);
    return;
  }
  // `this` is safe: the watch goes with the connection, and a connection is never destroyed
  // from inside its own callbacks (deleteLater).
  watch_ = loop_.addFd(fd_, events, [this](short revents) {
    if (!ctx_) return;
    if (revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
      redisAsyncHandleRead(ctx_);
      if (!ctx_) return;  // a callback may have ended the connection
    }
    if (revents & ZMQ_POLLOUT) redisAsyncHandleWrite(ctx_);
  });
}

void Connection::fail(Failure why) {
  if (!ctx_) return;
  failing_ = why;
  redisAsyncContext* c = ctx_;
  ctx_ = nullptr;
  // Inside a hiredis callback this only marks the context; hiredis frees it (running the
  // pending callbacks with no reply) once that callback returns. The owner must therefore
  // destroy a failed Connection only from outside hiredis callbacks.
  redisAsyncFree(c);
}

void Connection::checkTimeouts(TimePoint now) {
  if (!ctx_) return;
  if (!connected_ && now - started_ > options_.connect_timeout) {
    spdlog::warn("redis {}: connect timed out after {} ms", node_.address(),
                 options_.connect_timeout.count());
    fail(Failure::kConnect);
  } else if (!due_.empty() && now > due_.front()) {
    spdlog::warn("redis {}: no reply within {} ms; dropping the connection", node_.address(),
                 options_.command_timeout.count());
    fail(Failure::kTimeout);
  }
}

}  // namespace sb::redis
