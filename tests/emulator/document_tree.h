// Helpers for the clouds whose scenario document mirrors their URL space (AWS, GCE,
// Azure): the JSON Pointer of a value is its URL path, so walking a request path is
// walking the document, and a test's setData("/latest/meta-data/hostname", …) changes
// exactly what GET /latest/meta-data/hostname answers.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

namespace mdfs::emu {

// "/a/b/" → {"a", "b"}; empty segments are dropped.
std::vector<std::string> splitPath(std::string_view path);

// The value at `segments` below `root`: object members by name, array elements by
// decimal index. Null when a segment names nothing.
const rapidjson::Value* walk(const rapidjson::Value& root, const std::vector<std::string>& segments,
                             std::size_t first = 0);

// A leaf as the text services send: strings raw, numbers exactly as written in the
// document (ids above 2^53 included), booleans "true"/"false", null "".
std::string leafText(const rapidjson::Value& value);
bool isContainer(const rapidjson::Value& value);

// JSON with 2-space indentation and " : " between names and values, as AWS's IMDS
// prints its JSON leaves.
std::string awsStyleJson(const rapidjson::Value& value);

// 16 lower-case hex digits derived from `content`: equal content, equal tag.
std::string contentTag(std::string_view content);

}  // namespace mdfs::emu
