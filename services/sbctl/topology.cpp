#include "topology.h"

#include <algorithm>
#include <set>

#include <toml++/toml.h>

namespace sb::ctl {

namespace {

std::string at(const toml::node& n) {
  return " (line " + std::to_string(n.source().begin.line) + ")";
}

// A string, or an error naming `where`.
std::optional<std::string> readString(const toml::node& n, const std::string& where,
                                      std::string& out) {
  auto v = n.value<std::string>();
  if (!v) return where + ": must be a string" + at(n);
  out = *v;
  return std::nullopt;
}

std::optional<std::string> readInt(const toml::node& n, const std::string& where, int64_t lo,
                                   int64_t hi, int& out) {
  auto v = n.value<int64_t>();
  if (!n.is_integer() || !v || *v < lo || *v > hi) {
    return where + ": must be an integer " + std::to_string(lo) + ".." + std::to_string(hi) + at(n);
  }
  out = static_cast<int>(*v);
  return std::nullopt;
}

std::optional<std::string> readStrings(const toml::node& n, const std::string& where,
                                       std::vector<std::string>& out) {
  const toml::array* a = n.as_array();
  if (!a) return where + ": must be an array of strings" + at(n);
  out.clear();
  for (const toml::node& e : *a) {
    std::string s;
    if (auto err = readString(e, where + "[]", s)) return err;
    out.push_back(std::move(s));
  }
  return std::nullopt;
}

std::optional<std::string> readRedis(const toml::table& t, RedisSpec& r) {
  for (auto&& [key, node] : t) {
    std::string k(key.str()), where = "redis." + k;
    if (k == "embedded") {
      auto v = node.value<bool>();
      if (!node.is_boolean() || !v) return where + ": must be true or false" + at(node);
      r.embedded = *v;
    } else if (k == "port") {
      if (auto err = readInt(node, where, 1, 65535, r.port)) return err;
    } else if (k == "url") {
      if (auto err = readString(node, where, r.url)) return err;
      r.embedded = false;
    } else {
      return where + ": unknown key (embedded, port, url)" + at(node);
    }
  }
  if (!r.embedded && r.url.empty()) return std::string("redis: embedded = false needs a url");
  return std::nullopt;
}

std::optional<std::string> readService(const std::string& name, const toml::table& t,
                                       ServiceSpec& s) {
  s.name = name;
  s.program = programFor(name);
  for (auto&& [key, node] : t) {
    std::string k(key.str());
    std::string where = "service." + name;
    where += ".";
    where += k;
    std::optional<std::string> err;
    if (k == "program") {
      err = readString(node, where, s.program);
    } else if (k == "instances") {
      err = readInt(node, where, 0, 64, s.instances);
    } else if (k == "args") {
      err = readStrings(node, where, s.args);
    } else if (k == "after") {
      err = readStrings(node, where, s.after);
    } else if (k == "admin_port") {
      err = readInt(node, where, 1, 65535, s.admin_port);
    } else if (k == "port") {
      err = readInt(node, where, 1, 65535, s.port);
    } else if (k == "env") {
      const toml::table* env = node.as_table();
      if (!env) return where + ": must be a table of strings" + at(node);
      for (auto&& [var, value] : *env) {
        std::string v;
        if (auto e = readString(value, where + "." + std::string(var.str()), v)) return e;
        s.env[std::string(var.str())] = v;
      }
    } else {
      return where + ": unknown key (program, instances, args, env, after, admin_port, port)" +
             at(node);
    }
    if (err) return err;
  }
  if (s.program.empty()) return "service." + name + ": no program (not a known service name)";
  if (s.admin_port > 0 && s.admin_port + s.instances - 1 > 65535)
    return "service." + name + ".admin_port: instances run past port 65535";
  if (s.port > 0 && s.port + s.instances - 1 > 65535)
    return "service." + name + ".port: instances run past port 65535";
  return std::nullopt;
}

void replaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

std::string programFor(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> kPrograms{
      {"router", "sb-router"},
      {"session", "sb-session"},
      {"infer", "sb-inference-dispatch"},
      {"embeddings", "sb-embedding-cache"},
      {"edge", "sb-edge"},
      {"health", "sb-health"},
      {"echo", "sb-echo"}};
  auto it = kPrograms.find(name);
  return it == kPrograms.end() ? std::string() : it->second;
}

std::optional<std::string> parseTopology(std::string_view text, Topology& out) {
  out = Topology{};
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return std::string(e.description()) + " (line " + std::to_string(e.source().begin.line) + ")";
  }
  for (auto&& [key, node] : root) {
    std::string k(key.str());
    const toml::table* t = node.as_table();
    if (k == "banner") {
      auto v = node.value<std::string>();
      if (!v) return "banner: must be a string" + at(node);
      out.banner = *v;
    } else if (k == "redis") {
      if (!t) return "redis: must be a table" + at(node);
      if (auto err = readRedis(*t, out.redis)) return err;
    } else if (k == "service") {
      if (!t) return "service: must hold tables ([service.NAME])" + at(node);
      // toml++ keeps a table's keys sorted; the file's order is the source order.
      std::vector<std::pair<std::string, const toml::table*>> services;
      for (auto&& [name, svc] : *t) {
        const toml::table* st = svc.as_table();
        if (!st) return "service." + std::string(name.str()) + ": must be a table" + at(svc);
        services.emplace_back(std::string(name.str()), st);
      }
      std::stable_sort(services.begin(), services.end(), [](const auto& a, const auto& b) {
        return a.second->source().begin < b.second->source().begin;
      });
      for (const auto& [name, st] : services) {
        ServiceSpec s;
        if (auto err = readService(name, *st, s)) return err;
        out.services.push_back(std::move(s));
      }
    } else {
      return k + ": unknown key (banner, redis, service)" + at(node);
    }
  }
  if (out.services.empty()) return std::string("no [service.NAME] table: nothing to start");
  return std::nullopt;
}

std::optional<std::string> startOrder(const Topology& t, std::vector<std::string>& order) {
  order.clear();
  std::map<std::string, const ServiceSpec*> by_name;
  for (const auto& s : t.services) by_name[s.name] = &s;
  for (const auto& s : t.services) {
    for (const auto& dep : s.after) {
      if (dep != "redis" && !by_name.count(dep))
        return "service." + s.name + ".after: '" + dep + "' is not a service";
      if (dep == s.name) return "service." + s.name + ".after: names itself";
    }
  }
  // Kahn's algorithm, taking the earliest ready service in file order each time, so a file
  // without `after` starts in its own order.
  std::set<std::string> started{"redis"};
  while (order.size() < t.services.size()) {
    const ServiceSpec* next = nullptr;
    for (const auto& s : t.services) {
      if (started.count(s.name)) continue;
      bool ready = std::all_of(s.after.begin(), s.after.end(),
                               [&](const std::string& d) { return started.count(d) > 0; });
      if (ready) {
        next = &s;
        break;
      }
    }
    if (!next) {
      std::string stuck;
      for (const auto& s : t.services)
        if (!started.count(s.name)) stuck += (stuck.empty() ? "" : ", ") + s.name;
      return "services wait for each other (a cycle in `after`): " + stuck;
    }
    started.insert(next->name);
    order.push_back(next->name);
  }
  return std::nullopt;
}

std::vector<std::vector<std::string>> startLevels(const Topology& t,
                                                  const std::vector<std::string>& order) {
  std::map<std::string, size_t> level{{"redis", 0}};
  std::vector<std::vector<std::string>> out;
  for (const auto& name : order) {
    const auto& s = *std::find_if(t.services.begin(), t.services.end(),
                                  [&](const ServiceSpec& x) { return x.name == name; });
    size_t l = 1;
    for (const auto& dep : s.after) l = std::max(l, level[dep] + 1);
    level[name] = l;
    if (out.size() < l) out.resize(l);
    out[l - 1].push_back(name);
  }
  return out;
}

std::vector<std::string> instanceArgs(const ServiceSpec& s, int instance) {
  std::vector<std::string> out = s.args;
  std::string n = std::to_string(instance);
  std::string port = s.admin_port > 0 ? std::to_string(s.admin_port + instance - 1) : "";
  std::string own_port = s.port > 0 ? std::to_string(s.port + instance - 1) : "";
  for (auto& a : out) {
    replaceAll(a, "{instance}", n);
    replaceAll(a, "{name}", s.name + "-" + n);
    replaceAll(a, "{admin_port}", port);
    replaceAll(a, "{port}", own_port);
  }
  return out;
}

}  // namespace sb::ctl
