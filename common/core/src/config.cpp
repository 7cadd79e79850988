#include "sb/core/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>

#include "sb/core/listen_address.h"

namespace sb {

namespace {

CLI::Validator numberAtLeast(double floor, bool strict, const char* what) {
  return CLI::Validator(
      [floor, strict, what](std::string& in) -> std::string {
        double v = 0;
        size_t used = 0;
        try {
          v = std::stod(in, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != in.size() || used == 0 || (strict ? v <= floor : v < floor)) {
          return std::string("must be ") + what + ", not '" + in + "'";
        }
        return {};
      },
      what);
}

}  // namespace

CLI::Validator positiveNumber() { return numberAtLeast(0, true, "a positive number"); }
CLI::Validator nonNegativeNumber() { return numberAtLeast(0, false, "zero or more"); }

void addCommonOptions(CLI::App& app, CommonOptions& o) {
  app.set_config("--config", "", "Read options from this file (TOML/INI: name = value)");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", o.log_format, "text or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--ready-fd", o.ready_fd,
                 "Write a line to this file descriptor once serving, then close it");
  app.add_option("--admin-http", o.admin_http,
                 "Serve /livez, /healthz, /readyz and /metrics on this IP:PORT (off by default)")
      ->check(CLI::Validator(
          [](std::string& in) -> std::string {
            std::string host;
            uint16_t port = 0;
            if (in.empty() || parseListenAddress(in, host, port)) return {};
            return "must be IP:PORT (0.0.0.0:PORT for every interface), not '" + in + "'";
          },
          "IP:PORT"));
}

void bindEnvironment(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    std::string name = opt->get_single_name();
    if (name.empty() || name == "help" || opt->get_lnames().empty()) continue;
    std::string env = "SB_";
    for (char c : name) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    opt->envname(env);  // CLI11 shows it in --help as (Env:SB_...)
  }
}

std::optional<int> parseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::cerr << app.get_name() << ": " << what << "\n";
    return 2;
  }
  return std::nullopt;
}

void notifyReady(int& ready_fd, const std::string& text) {
  if (ready_fd < 0) return;
  std::string line = text + "\n";
  ssize_t n = write(ready_fd, line.data(), line.size());
  (void)n;
  close(ready_fd);
  ready_fd = -1;
}

}  // namespace sb
