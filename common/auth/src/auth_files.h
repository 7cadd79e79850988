#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

// What the auth layer's files (API key file, CURVE certificates, peer list) share: reading a
// whole file, writing one atomically, and TOML parsing with errors that name their line.
namespace sb::auth::files {

// The whole file; "cannot read PATH" if it cannot be opened.
std::optional<std::string> read(const std::string& path, std::string& out);
// Through a temporary file (created with `mode`, synced) and rename: a reader sees the old
// file or the new one, never half of one.
std::optional<std::string> writeAtomically(const std::string& path, const std::string& text,
                                           mode_t mode);
// " (line N)" for a node, to end an error message.
std::string at(const toml::node& n);
// A field that must be a non-empty string: "HERE: must be a string (line N)" otherwise.
std::optional<std::string> readString(const toml::node& n, const std::string& here,
                                      std::string& out);
// A field that must be an array of non-empty strings, appended to `out`; `what` names them in
// the error ("model names").
std::optional<std::string> readStrings(const toml::node& n, const std::string& here,
                                       const char* what, std::vector<std::string>& out);
// Parses TOML; the parser's description and line on error.
std::optional<std::string> parseToml(std::string_view text, toml::table& out);

}  // namespace sb::auth::files
