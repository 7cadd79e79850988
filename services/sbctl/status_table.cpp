#include "status_table.h"

#include <algorithm>
#include <vector>

namespace sb::sbctl {
namespace {

std::string cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ",") + cell(e);
    return out.empty() ? "*" : out;
  }
  return v.dump();
}

std::string table(const std::vector<std::string>& columns, const nlohmann::json& rows) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back(columns);
  for (const auto& row : rows) {
    std::vector<std::string> line;
    line.reserve(columns.size());
    for (const auto& c : columns) line.push_back(row.contains(c) ? cell(row[c]) : "");
    cells.push_back(line);
  }
  std::vector<size_t> width(columns.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) out += std::string(width[i] - line[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace

std::string statusTable(const nlohmann::json& s) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  auto part = [&](const char* key) -> const nlohmann::json& {
    return s.contains(key) ? s.at(key) : kEmpty;
  };
  std::string out = "policy " + cell(s.value("policy", nlohmann::json("?"))) + ", uptime " +
                    std::to_string(s.value("uptime_ms", 0) / 1000) + " s\n\nWORKERS\n";
  out += table({"name", "service", "models", "capacity", "weight", "backup", "inflight", "draining",
                "cooling_down", "dispatched", "failures", "last_seen_ms"},
               part("workers"));
  out += "\nSERVICES\n";
  out += table({"name", "workers", "inflight", "queued"}, part("services"));
  out += "\nCOUNTERS\n";
  nlohmann::json rows = nlohmann::json::array();
  const nlohmann::json& counters = part("counters");
  if (counters.is_object()) {
    for (auto it = counters.begin(); it != counters.end(); ++it) {
      rows.push_back({{"counter", it.key()}, {"value", it.value()}});
    }
  }
  out += table({"counter", "value"}, rows);
  return out;
}

}  // namespace sb::sbctl
