#pragma once

#include <string>
#include <string_view>

#include "sb/proto/body_fields.h"

namespace sb::session {

// A session or user id: 1..128 of [A-Za-z0-9._:-] (no braces: they would change the hash tag).
bool validId(std::string_view id);

// Reads an id field; a wrong one fails `f` naming the field.
void readId(proto::BodyFields& f, const char* key, std::string& out, bool required);

// A message to store: a map with a string 'role', each key once, every string UTF-8 (what is
// stored is returned as is, and a strict decoder refuses a session holding bad UTF-8). Empty
// when it is fine, else why not.
std::string checkMessage(const msgpack::object& m);

}  // namespace sb::session
