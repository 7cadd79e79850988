#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb {

// One backend as a flag gives it (--llm-backend, --embed-backend):
// "kind=openai,url=http://h:8000,models=a|b,weight=2,max_conns=8,backup,api_key_env=VAR,name=x".
struct BackendFlag {
  std::string kind;
  std::string url;                  // http(s), for the kinds that need one
  std::vector<std::string> models;  // served; empty = any
  uint32_t weight = 1;
  uint32_t max_conns = 8;
  bool backup = false;
  std::string api_key_env;  // environment variable holding the API key
  std::string api_key;      // its value, read by readBackendKey (never logged)
  std::string name;         // default: the kind, or the URL
};

// Parses `text` into `out` (whose fields hold the defaults). `kinds` lists the kinds allowed;
// those in `url_kinds` need url=. Returns an error message.
std::optional<std::string> parseBackendFlag(const std::string& text,
                                            const std::vector<std::string>& kinds,
                                            const std::vector<std::string>& url_kinds,
                                            BackendFlag& out);

// Reads the key named by api_key_env. A key named but unset or empty is an error (requests
// would go out unauthenticated): the message says which.
std::optional<std::string> readBackendKey(BackendFlag& b);

}  // namespace sb
