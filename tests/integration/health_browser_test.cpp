// sb-health seen by the tools operators use: a real Prometheus server scraping every admin
// listener (PromQL returns per-instance series), and the status page in headless Chromium.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "bus.h"
#include "dispatch.h"
#include "http_get.h"
#include "redis.h"
#include "sb/core/json_body.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::string admin(int port) { return "127.0.0.1:" + std::to_string(port); }

std::string urlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A small suite with admin listeners: router, an inference worker, an echo worker, sb-health.
struct Suite {
  RedisServer redis;
  Bus bus;
  int router_port, infer_port, echo_port, health_port;
  Process infer, echo, health;

  Suite()
      : bus({"--admin-http", admin(router_port = freePort())}),
        infer_port(freePort()),
        echo_port(freePort()),
        health_port(freePort()) {
    infer = startDispatch(bus, "infer-1",
                          {"--demo-first-token-ms", "0", "--admin-http", admin(infer_port)});
    echo = bus.startEcho("echo-1", {"--admin-http", admin(echo_port)});
    health = Process::start(
        "sb-health", {"--router", bus.backend(), "--probe-router", bus.frontend(), "--redis",
                      redis.url(), "--require", "infer,echo", "--admin-http", admin(health_port),
                      "--probe-interval-ms", "250", "--gather-metrics"});
    if (!health.awaitReady(10s)) throw std::runtime_error("sb-health: " + health.log());
  }
};

json promQuery(int port, const std::string& query) {
  HttpGetResult r = httpGet(port, "/api/v1/query?query=" + urlEncode(query));
  if (r.status != 200) return json::object();
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("data", json::object()).value("result", json::array())
                       : json::array();
}

TEST(Prometheus, ARealServerScrapesEveryProcessWithPerInstanceSeries) {
  Suite suite;
  std::string dir = tempDir() + "/prometheus";
  mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n"
      << "  - job_name: router\n    static_configs: [{targets: ['" << admin(suite.router_port)
      << "']}]\n"
      << "  - job_name: infer\n    static_configs: [{targets: ['" << admin(suite.infer_port)
      << "']}]\n"
      << "  - job_name: echo\n    static_configs: [{targets: ['" << admin(suite.echo_port)
      << "']}]\n"
      << "  - job_name: health\n    static_configs: [{targets: ['" << admin(suite.health_port)
      << "']}]\n";
  int prom_port = freePort();
  Process prom = Process::startSystem(
      "prometheus", {"--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir,
                     "--web.listen-address=" + admin(prom_port), "--log.level=warn"});
  ASSERT_TRUE(waitUntil([&] { return httpGet(prom_port, "/-/ready").status == 200; }, 30s))
      << prom.log();
  auto client = suite.bus.client();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client
                    ->call("infer", "chat",
                           packJsonValue({{"messages", {{{"role", "user"}, {"content", "hi"}}}},
                                          {"max_tokens", 3}}))
                    .status.ok());
  }
  // One sb_ready series per scraped process, each with its own instance label, all 1 (the
  // ones sb-health gathered carry exported_instance).
  json ready;
  ASSERT_TRUE(waitUntil(
      [&] {
        ready = promQuery(prom_port, "sb_ready{exported_instance=\"\"} == 1");
        return ready.size() == 4;
      },
      30s))
      << ready << prom.log();
  std::set<std::string> instances;
  for (const auto& s : ready) instances.insert(s["metric"]["instance"].get<std::string>());
  EXPECT_EQ(instances, (std::set<std::string>{admin(suite.router_port), admin(suite.infer_port),
                                              admin(suite.echo_port), admin(suite.health_port)}));
  // The router counted the chat requests; the worker's capacity is scraped per instance.
  json requests;
  ASSERT_TRUE(waitUntil(
      [&] {
        requests = promQuery(prom_port, "sb_router_requests_total{service=\"infer\"}");
        return requests.size() == 1 && requests[0]["value"][1] == "3";
      },
      30s))
      << requests;
  // What sb-health gathered over the bus, with the instance it came from (Prometheus keeps
  // the scraped `instance` as exported_instance).
  json gathered;
  ASSERT_TRUE(waitUntil(
      [&] {
        gathered = promQuery(prom_port, "sb_worker_capacity{job=\"health\",service=\"infer\"}");
        return gathered.size() == 1;
      },
      30s))
      << gathered;
  EXPECT_EQ(gathered[0]["metric"]["exported_instance"], "infer-1");
  json live = promQuery(prom_port, "sb_health_service_live_workers{service=\"echo\"}");
  ASSERT_EQ(live.size(), 1U) << live;
  EXPECT_EQ(live[0]["value"][1], "1");
}

TEST(StatusPage, HeadlessChromiumShowsTheLiveWorkers) {
  Suite suite;
  ASSERT_TRUE(waitUntil(
      [&] {
        json s = json::parse(httpGet(suite.health_port, "/status").body, nullptr, false);
        return s.is_object() && s.value("ready", false);
      },
      10s));
  std::string url = "http://" + admin(suite.health_port) + "/";
  std::string out_dir = std::string(SB_BIN_DIR) + "/../test-output";
  mkdir(out_dir.c_str(), 0755);
  std::string dom_path = tempDir() + "/status_dom.html";
  std::string shot = out_dir + "/health_status_page.png";
  std::string profile = tempDir() + "/chromium-profile";
  std::string common =
      "chromium --headless=new --no-sandbox --disable-gpu --no-first-run "
      "--user-data-dir=" +
      profile + " --window-size=1280,1400 --virtual-time-budget=6000 ";
  Process dump = Process::startSystem(
      "sh", {"-c", common + "--dump-dom '" + url + "' > '" + dom_path + "' 2>/dev/null"});
  ASSERT_EQ(dump.awaitExit(90s), 0) << dump.log();
  std::stringstream dom;
  dom << std::ifstream(dom_path).rdbuf();
  std::string html = dom.str();
  EXPECT_NE(html.find("data-loaded=\"true\""), std::string::npos) << html.substr(0, 2000);
  EXPECT_NE(html.find("data-ready=\"true\""), std::string::npos);
  EXPECT_NE(html.find("data-instance=\"infer-1\" data-service=\"infer\" data-state=\"up\""),
            std::string::npos);
  EXPECT_NE(html.find("data-instance=\"echo-1\" data-service=\"echo\" data-state=\"up\""),
            std::string::npos);
  EXPECT_NE(html.find("data-backend=\"infer-1/demo\""), std::string::npos);
  EXPECT_NE(html.find("data-redis=\"127.0.0.1:" + std::to_string(suite.redis.port()) + "\""),
            std::string::npos);
  Process snap = Process::startSystem(
      "sh", {"-c", common + "--screenshot='" + shot + "' '" + url + "' >/dev/null 2>&1"});
  ASSERT_EQ(snap.awaitExit(90s), 0) << snap.log();
  struct stat st {};
  ASSERT_EQ(stat(shot.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 10000);
  std::cout << "status page screenshot: " << shot << "\n";
  RecordProperty("screenshot", shot);
}

}  // namespace
}  // namespace sb::test
