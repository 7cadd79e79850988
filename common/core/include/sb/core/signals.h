#pragma once

#include <functional>

#include "sb/core/event_loop.h"

namespace sb {

// Blocks SIGTERM and SIGINT in the calling thread; call first thing in main(), before any
// thread (including ZMQ's I/O threads) exists, so every thread inherits the mask.
void blockTerminationSignals();

// Delivers SIGTERM / SIGINT to `on_signal(signo)` through the loop (signalfd), for as long as
// the returned handle lives.
LoopHandle onTerminationSignal(EventLoop& loop, std::function<void(int)> on_signal);

}  // namespace sb
