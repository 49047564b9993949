// JSON documents for the service files (private to fs/service; rapidjson stays out of the
// public headers). Reading follows the project's one set of rules, common/json_reader.h:
// the same depth limit, number grammar and encoding policy as the tree.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace mdfs::service {

// Parses `text` into `doc` by the rules of common/json_reader.h. False for anything else;
// never crashes on hostile input. Integers that fit 64 bits become integers, other
// numbers doubles; a number beyond double's range (1e999) is kept as its text in a string.
bool parseJson(std::string_view text, rapidjson::Document& doc);

// Compact JSON text of `value`.
std::string writeJson(const rapidjson::Value& value);

}  // namespace mdfs::service
