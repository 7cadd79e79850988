#pragma once

#include <string>
#include <string_view>

#include "sb/proto/body_fields.h"

namespace sb::session {

// A session or user id: 1..128 of [A-Za-z0-9._:-] (no braces: they would change the hash tag).
bool validId(std::string_view id);

// Reads an id field; a wrong one fails `f` naming the field.
void readId(proto::BodyFields& f, const char* key, std::string& out, bool required);

}  // namespace sb::session
