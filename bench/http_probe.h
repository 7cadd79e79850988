#pragma once

#include <string>
#include <string_view>

namespace sb::bench {

// Decodes a chunked body as it arrives (RFC 9112 §7.1; extensions and trailers skipped).
class ChunkedDecoder {
 public:
  // Appends the body bytes in `in` to `out`; false on a malformed size line.
  bool feed(std::string_view in, std::string& out);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  State state_ = State::kSize;
  std::string line_;
  size_t left_ = 0;
};

// One keep-alive HTTP/1.1 connection to 127.0.0.1:port, used one request at a time
// (blocking): the latency probe of the benchmarks. Reads bodies with a length or chunked.
class HttpProbe {
 public:
  explicit HttpProbe(int port);
  ~HttpProbe();
  HttpProbe(const HttpProbe&) = delete;
  HttpProbe& operator=(const HttpProbe&) = delete;

  struct Response {
    int status = 0;  // 0: the connection failed (it is reopened on the next call)
    std::string body;
  };
  Response post(const std::string& path, const std::string& json_body);

 private:
  bool connectNow();
  bool readResponse(Response& r);

  int port_;
  int fd_ = -1;
  std::string in_;
};

}  // namespace sb::bench
