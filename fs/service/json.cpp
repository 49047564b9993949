#include "service/json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace mdfs::service {
namespace {

// A linear scan, so that a hostile "[[[[..." is refused without parsing it.
bool nestingWithin(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace

bool parseJson(std::string_view text, rapidjson::Document& doc) {
  if (!nestingWithin(text, kMaxJsonDepth)) return false;
  // Iterative parsing keeps the stack flat whatever the input looks like.
  constexpr unsigned kFlags =
      rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  doc.Parse<kFlags>(text.data(), text.size());
  return !doc.HasParseError();
}

std::string writeJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace mdfs::service
