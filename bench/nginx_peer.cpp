#include "nginx_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "listener.h"

namespace sb::bench {

int freePort() {
  int port = 0;
  close(sb::test::listenOnLoopback(port));
  return port;
}

void awaitListening(int port, int seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    if (ok) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // no event to await: polling
  }
  throw std::runtime_error("nothing listens on port " + std::to_string(port));
}

NginxPeer::NginxPeer(int upstream_port) : port_(freePort()) {
  std::string dir = sb::test::tempDir() + "/nginx-" + std::to_string(port_);
  std::string conf = dir + "/nginx.conf";
  if (std::system(("mkdir -p " + dir).c_str()) != 0) throw std::runtime_error("mkdir " + dir);
  std::ofstream(conf) << "master_process off;\n"
                      << "pid " << dir << "/nginx.pid;\n"
                      << "error_log " << dir << "/error.log warn;\n"
                      << "events { worker_connections 20000; }\n"
                      << "http {\n"
                      << "  access_log " << dir << "/access.log;\n"
                      << "  client_body_temp_path " << dir << ";\n"
                      << "  proxy_temp_path " << dir << ";\n"
                      << "  upstream llm { server 127.0.0.1:" << upstream_port
                      << "; keepalive 256; }\n"
                      << "  server {\n"
                      << "    listen 127.0.0.1:" << port_ << ";\n"
                      << "    keepalive_requests 1000000;\n"
                      << "    location / {\n"
                      << "      proxy_pass http://llm;\n"
                      << "      proxy_http_version 1.1;\n"
                      << "      proxy_set_header Connection \"\";\n"
                      << "      proxy_buffering off;\n"
                      << "      proxy_read_timeout 600s;\n"
                      << "    }\n"
                      << "  }\n"
                      << "}\n";
  process_ = sb::test::Process::startSystem(
      "nginx", {"-e", dir + "/error.log", "-p", dir, "-c", conf, "-g", "daemon off;"});
  awaitListening(port_, 10);
}

}  // namespace sb::bench
