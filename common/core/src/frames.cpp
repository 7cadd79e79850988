#include "sb/core/frames.h"

#include <cerrno>

namespace sb {

size_t recvMessage(zmq::socket_ref socket, std::vector<zmq::message_t>& parts, size_t max_frames,
                   bool& too_many) {
  too_many = false;
  size_t n = 0;
  zmq::message_t spill;
  while (true) {
    zmq::message_t* into = &spill;
    if (n < max_frames) {
      if (parts.size() <= n) parts.emplace_back();
      into = &parts[n];
    }
    auto r = socket.recv(*into, n == 0 ? zmq::recv_flags::dontwait : zmq::recv_flags::none);
    if (!r) return 0;  // nothing waiting (only possible on the first frame)
    if (n >= max_frames) too_many = true;
    ++n;
    if (!into->more()) break;
  }
  return n > max_frames ? max_frames : n;
}

SendResult sendMessage(zmq::socket_ref socket, zmq::message_t* parts, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    auto flags = zmq::send_flags::dontwait;
    if (i + 1 < count) flags = flags | zmq::send_flags::sndmore;
    zmq_msg_t* m = parts[i].handle();
    int rc = zmq_msg_send(m, socket.handle(), static_cast<int>(flags));
    if (rc < 0) {
      // libzmq sends multipart messages atomically: a failure on the first frame sends
      // nothing, and later frames cannot fail once the first was accepted.
      if (errno == EAGAIN) return SendResult::kWouldBlock;
      if (errno == EHOSTUNREACH) return SendResult::kUnroutable;
      return SendResult::kError;
    }
  }
  return SendResult::kOk;
}

}  // namespace sb
