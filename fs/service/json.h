// JSON parsing and writing shared by the service files (private to fs/service; rapidjson
// stays out of the public headers).
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace mdfs::service {

// Deeper nesting than this is refused before parsing: real metadata documents are a few
// levels deep, and writing a document back out recurses once per level.
inline constexpr int kMaxJsonDepth = 128;

// Parses `text` as one strict UTF-8 JSON document. False for anything else, including a
// document nested deeper than kMaxJsonDepth; never crashes on hostile input.
bool parseJson(std::string_view text, rapidjson::Document& doc);

// Compact JSON text of `value`.
std::string writeJson(const rapidjson::Value& value);

}  // namespace mdfs::service
