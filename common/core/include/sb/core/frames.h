#pragma once

#include <string_view>
#include <vector>

#include <zmq.hpp>

namespace sb {

inline std::string_view view(const zmq::message_t& m) {
  return {static_cast<const char*>(m.data()), m.size()};
}
inline zmq::message_t frame(std::string_view s) { return zmq::message_t(s.data(), s.size()); }

// Receives one whole multipart message without blocking into `parts` (reusing its frames).
// Returns the number of frames, 0 when nothing is waiting. Frames beyond `max_frames` are read
// and dropped, and `too_many` is set, so a peer cannot make us hold unbounded frame lists.
size_t recvMessage(zmq::socket_ref socket, std::vector<zmq::message_t>& parts, size_t max_frames,
                   bool& too_many);

enum class SendResult { kOk, kWouldBlock, kUnroutable, kError };

// Sends `count` frames starting at `parts` as one message, moving them. Never blocks and never
// throws: a full pipe is kWouldBlock, an unknown ROUTER peer (with ROUTER_MANDATORY) is
// kUnroutable.
SendResult sendMessage(zmq::socket_ref socket, zmq::message_t* parts, size_t count);

template <size_t N>
SendResult sendMessage(zmq::socket_ref socket, zmq::message_t (&parts)[N]) {
  return sendMessage(socket, parts, N);
}

}  // namespace sb
