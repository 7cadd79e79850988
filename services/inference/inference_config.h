#pragma once

#include <optional>
#include <string>
#include <vector>

#include "demo_backend.h"
#include "dispatcher.h"
#include "sb/bus/worker.h"
#include "sb/core/options.h"

namespace sb::inference {

// One --llm-backend: its kind and where it is, plus what the dispatcher balances on.
struct BackendConfig {
  std::string kind = "demo";  // demo | openai
  std::string url;            // openai: the server's base URL
  std::string api_key_env;    // openai: environment variable holding the API key
  std::string api_key;        // its value, read at start-up (never logged)
  BackendSpec spec;
};

struct InferenceConfig {
  WorkerOptions worker;
  std::vector<BackendConfig> backends;  // none given: one demo backend serving any model
  DispatchOptions dispatch;
  DemoOptions demo;
  Millis connect_timeout{2000};
  // --capacity given: at most this many requests at once (0: the backends' max_conns sum).
  uint32_t capacity_cap = 0;
  CommonOptions common;
};

// "kind=openai,url=http://h:8000,models=a|b,weight=2,max_conns=8,backup,api_key_env=VAR,name=x"
// -> a BackendConfig, or an error message.
std::optional<std::string> parseBackend(const std::string& text, BackendConfig& out);

std::optional<int> parseInferenceConfig(int argc, char** argv, InferenceConfig& config);
int runInference(InferenceConfig& config);

}  // namespace sb::inference
