#pragma once

#include <functional>

#include "sb/core/event_loop.h"

namespace sb {

// Call first thing in a service's main(), before any thread (including ZMQ's I/O threads)
// exists, so every thread inherits it. Blocks SIGTERM, SIGINT and SIGHUP (they arrive through
// the loop: onTerminationSignal, onReloadSignal; a process that reloads nothing ignores
// SIGHUP, as nginx's workers do) and ignores SIGPIPE: hiredis writes with write(2), so a Redis that
// dies while a command is being written would otherwise kill the process without a word; the write
// fails with EPIPE instead and the connection is handled as lost.
void setUpProcessSignals();

// Delivers SIGTERM / SIGINT to `on_signal(signo)` through the loop (signalfd), for as long as
// the returned handle lives.
LoopHandle onTerminationSignal(EventLoop& loop, std::function<void(int)> on_signal);

// Delivers SIGHUP (reload your files) to `on_reload` through the loop.
LoopHandle onReloadSignal(EventLoop& loop, std::function<void()> on_reload);

}  // namespace sb
