#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "sb/bus/client.h"
#include "sb/bus/curve.h"

// The client side of the client <-> router link (PROTOCOL.md 2-4), shared by Client and
// AsyncClient: requests and cancels out, request-scoped frames in.
namespace sb::client_frames {

// A DEALER for a router's client endpoint, with the link's socket options (and CURVE when
// `curve` is enabled); not connected yet, so a monitor can watch its first handshake.
zmq::socket_t routerSocket(zmq::context_t& context, const CurveClientKeys& curve);
// Sends [request header][body]; `buf` is scratch space for the header.
void sendRequest(zmq::socket_ref socket, std::string& buf, uint64_t id, std::string_view service,
                 std::string_view op, std::string_view body, const CallOptions& options);
void sendCancel(zmq::socket_ref socket, std::string& buf, uint64_t id);
// A router-level frame (PROTOCOL.md 4.5): `heartbeat` from a client.
void sendControl(zmq::socket_ref socket, std::string& buf, proto::Kind kind);
// The next message on `socket` that is a chunk, reply or error of a request (and with
// `control`, also a `heartbeat` or `drain` from the router, request-scoped or not); nullopt
// when none is waiting (malformed or other messages are skipped).
std::optional<Incoming> receive(zmq::socket_ref socket, std::vector<zmq::message_t>& parts,
                                const proto::Limits& limits, bool control = false);

}  // namespace sb::client_frames
