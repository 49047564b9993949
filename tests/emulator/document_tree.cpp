#include "emulator/document_tree.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <charconv>
#include <cstdio>

#include "emulator/crypto.h"
#include "emulator/scenario.h"

namespace mdfs::emu {

using rapidjson::Value;

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t slash = path.find('/', pos);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > pos) out.emplace_back(path.substr(pos, end - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

const Value* walk(const Value& root, const std::vector<std::string>& segments, std::size_t first) {
  const Value* v = &root;
  for (std::size_t i = first; i < segments.size(); ++i) {
    const std::string& s = segments[i];
    if (v->IsObject()) {
      v = member(*v, s);
    } else if (v->IsArray()) {
      std::size_t index = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), index);
      if (ec != std::errc() || end != s.data() + s.size() || index >= v->Size()) return nullptr;
      v = &(*v)[static_cast<rapidjson::SizeType>(index)];
    } else {
      return nullptr;
    }
    if (v == nullptr) return nullptr;
  }
  return v;
}

std::string leafText(const Value& value) {
  if (value.IsString()) return {value.GetString(), value.GetStringLength()};
  if (value.IsNull()) return {};
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  return toJson(value);  // numbers: the writer prints integers exactly
}

bool isContainer(const Value& value) {
  return value.IsObject() || value.IsArray();
}

std::string awsStyleJson(const Value& value) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  value.Accept(w);
  // The pretty writer prints "name": value; AWS prints "name" : value.
  std::string text(buf.GetString(), buf.GetSize());
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string && c == '\\') {
      out += c;
      out += text[++i];
      continue;
    }
    if (c == '"') in_string = !in_string;
    if (!in_string && c == ':') {
      out += " :";
      continue;
    }
    out += c;
  }
  return out;
}

std::string contentTag(std::string_view content) {
  const std::string digest = sha256(content);
  std::string out;
  std::array<char, 3> hex{};
  for (std::size_t i = 0; i < 8; ++i) {
    std::snprintf(hex.data(), hex.size(), "%02x", static_cast<unsigned char>(digest[i]));
    out += hex.data();
  }
  return out;
}

}  // namespace mdfs::emu
