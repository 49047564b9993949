#include "service/json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "common/json_reader.h"

namespace mdfs::service {
namespace {

bool isInteger(std::string_view number) {
  return number.find_first_of(".eE") == std::string_view::npos;
}

// Feeds the reader's events into a rapidjson::Document, which needs each container's size.
class DocumentFeeder final : public json::Handler {
 public:
  explicit DocumentFeeder(rapidjson::Document& doc) : doc_(doc) {}

  bool scalar(json::Kind kind, std::string_view text) override {
    if (!counts_.empty()) ++counts_.back();
    switch (kind) {
      case json::Kind::null:
        return doc_.Null();
      case json::Kind::boolean:
        return doc_.Bool(text == "true");
      case json::Kind::number:
        return number(std::string(text));
      default:
        return doc_.String(text.data(), size(text), true);
    }
  }
  bool key(std::string_view name) override { return doc_.Key(name.data(), size(name), true); }
  bool open(json::Kind kind) override {
    if (!counts_.empty()) ++counts_.back();
    counts_.push_back(0);
    return kind == json::Kind::object ? doc_.StartObject() : doc_.StartArray();
  }
  bool close(json::Kind kind) override {
    rapidjson::SizeType n = counts_.back();
    counts_.pop_back();
    return kind == json::Kind::object ? doc_.EndObject(n) : doc_.EndArray(n);
  }

 private:
  static rapidjson::SizeType size(std::string_view s) {
    return static_cast<rapidjson::SizeType>(s.size());
  }
  bool number(const std::string& text) {
    if (isInteger(text)) {
      errno = 0;
      char* end = nullptr;
      if (text[0] == '-') {
        long long v = std::strtoll(text.c_str(), &end, 10);
        if (errno == 0) return doc_.Int64(v);
      } else {
        unsigned long long v = std::strtoull(text.c_str(), &end, 10);
        if (errno == 0) return doc_.Uint64(v);
      }
    }
    double d = std::strtod(text.c_str(), nullptr);
    if (std::isfinite(d)) return doc_.Double(d);
    return doc_.String(text.data(), size(text), true);
  }

  rapidjson::Document& doc_;
  std::vector<rapidjson::SizeType> counts_;  // values so far in each open container
};

}  // namespace

bool parseJson(std::string_view text, rapidjson::Document& doc) {
  json::JsonReader reader(text);
  bool ok = false;
  auto generate = [&](rapidjson::Document& target) {
    DocumentFeeder feeder(target);
    ok = reader.read(feeder).ok();
    return ok;
  };
  doc.Populate(generate);
  return ok;
}

std::string writeJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace mdfs::service
