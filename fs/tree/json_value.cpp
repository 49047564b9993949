#include "tree/json_value.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace mdfs::tree {
namespace {

// Builds JsonValues from SAX events. The stack holds the open containers; a pending key
// waits for its value.
class Builder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Builder> {
 public:
  bool Null() { return add(JsonValue{}); }
  bool Bool(bool b) { return add(scalar(JsonValue::Type::boolean, b ? "true" : "false")); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    return add(scalar(JsonValue::Type::number, std::string(s, n)));
  }
  bool String(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    return add(scalar(JsonValue::Type::string, std::string(s, n)));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    keys_.emplace_back(s, n);
    return true;
  }
  bool StartObject() { return open(JsonValue::Type::object); }
  bool EndObject(rapidjson::SizeType /*count*/) { return close(); }
  bool StartArray() { return open(JsonValue::Type::array); }
  bool EndArray(rapidjson::SizeType /*count*/) { return close(); }

  JsonValue take() { return std::move(root_); }

 private:
  static JsonValue scalar(JsonValue::Type type, std::string text) {
    JsonValue v;
    v.type = type;
    v.text = std::move(text);
    return v;
  }

  bool open(JsonValue::Type type) {
    if (static_cast<int>(stack_.size()) >= kMaxJsonDepth) return false;
    JsonValue v;
    v.type = type;
    stack_.push_back(std::move(v));
    return true;
  }

  bool close() {
    JsonValue done = std::move(stack_.back());
    stack_.pop_back();
    return add(std::move(done));
  }

  bool add(JsonValue v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    JsonValue& parent = stack_.back();
    if (parent.type == JsonValue::Type::object) {
      parent.keys.push_back(std::move(keys_.back()));
      keys_.pop_back();
    }
    parent.items.push_back(std::move(v));
    return true;
  }

  std::vector<JsonValue> stack_;
  std::vector<std::string> keys_;
  JsonValue root_;
};

}  // namespace

const JsonValue* JsonValue::member(std::string_view name) const {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == name) return &items[i];
  }
  return nullptr;
}

Result<JsonValue> parseJson(std::string_view text) {
  constexpr unsigned kFlags = rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseIterativeFlag;
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::Reader reader;
  Builder builder;
  rapidjson::ParseResult ok = reader.Parse<kFlags>(stream, builder);
  if (!ok) {
    std::string why = ok.Code() == rapidjson::kParseErrorTermination
                          ? "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                          : rapidjson::GetParseError_En(ok.Code());
    return makeError(EIO, "malformed JSON at offset " + std::to_string(ok.Offset()) + ": " + why);
  }
  return builder.take();
}

}  // namespace mdfs::tree
