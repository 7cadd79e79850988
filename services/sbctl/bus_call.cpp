#include "bus_call.h"

#include "sb/bus/async_client.h"

namespace sb::sbctl {

CallResult callBus(zmq::context_t& context, const std::vector<std::string>& routers,
                   const CurveClientKeys& curve, std::string_view service, std::string_view op,
                   std::string_view body, const CallOptions& options,
                   const std::function<void(const Incoming&)>& on_chunk) {
  EventLoop loop;
  AsyncClientOptions co;
  co.curve = curve;
  AsyncClient client(context, loop, routers, co);
  CallResult result;
  client.send(service, op, body, options, [&](const Incoming& in) {
    if (in.kind == proto::Kind::kChunk) {
      if (on_chunk) on_chunk(in);
      result.chunks.push_back(in.body);
      return;
    }
    if (in.kind == proto::Kind::kError) {
      result.status = proto::Status::error(in.code, in.message);
    } else {
      result.body = in.body;
    }
    loop.stop();
  });
  loop.run();
  return result;
}

}  // namespace sb::sbctl
