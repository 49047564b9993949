#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json_reader.h"

namespace mdfs::json {
namespace {

// Records events as "kind:text@begin-end" strings.
class Recorder final : public Handler {
 public:
  explicit Recorder(const JsonReader& r) : r_(r) {}
  bool scalar(Kind kind, std::string_view text) override {
    return note(std::to_string(static_cast<int>(kind)) + ":" + std::string(text));
  }
  bool key(std::string_view name) override { return note("key:" + std::string(name)); }
  bool open(Kind kind) override { return note(kind == Kind::object ? "{" : "["); }
  bool close(Kind kind) override { return note(kind == Kind::object ? "}" : "]"); }
  std::vector<std::string> events;

 private:
  bool note(std::string e) {
    events.push_back(e + "@" + std::to_string(r_.tokenBegin()) + "-" +
                     std::to_string(r_.tokenEnd()));
    return true;
  }
  const JsonReader& r_;
};

Result<std::vector<std::string>> read(std::string_view text) {
  JsonReader reader(text);
  Recorder rec(reader);
  if (auto s = reader.read(rec); !s) return s.error();
  return rec.events;
}

TEST(JsonReader, KeepsNumberTextAndReportsTokenSpans) {
  auto events = read(R"( {"a": 1.50, "b":[-0,1e999 ,true,null,"s\n"]} )");
  ASSERT_TRUE(events.ok()) << events.error().message;
  EXPECT_EQ(*events,
            (std::vector<std::string>{"{@1-2", "key:a@2-5", "2:1.50@7-11", "key:b@13-16", "[@17-18",
                                      "2:-0@18-20", "2:1e999@21-26", "1:true@28-32", "0:@33-37",
                                      "3:s\n@38-43", "]@43-44", "}@44-45"}));
}

TEST(JsonReader, ChecksTheNumberGrammar) {
  for (const char* bad : {"[01]", "[1.]", "[-]", "[1e]", "[+1]", "[.5]", "[1e+]", "[0x10]",
                          "[Infinity]", "[NaN]", "[1-2]"}) {
    EXPECT_FALSE(read(bad).ok()) << bad;
  }
  EXPECT_TRUE(isJsonNumber("-0.0e-0"));
  EXPECT_FALSE(isJsonNumber("00"));
}

TEST(JsonReader, RefusesAnythingButOneDocument) {
  for (std::string bad :
       {std::string("{} {}"), std::string("{"), std::string(""), std::string("{}\0{}", 5),
        std::string("[\"a\0b\"]", 7), std::string("nope"), std::string("[\"\\ud800\"]"),
        std::string("[\"a\nb\"]")}) {
    auto r = read(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().errnum, EIO);
    EXPECT_NE(r.error().message.find("malformed JSON at offset"), std::string::npos);
  }
}

TEST(JsonReader, KeepsInvalidUtf8Bytes) {
  auto events = read("[\"\xff\xc3\x28\",\"\\u00e9\"]");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->at(1), "3:\xff\xc3\x28@1-6");
  EXPECT_EQ(events->at(2), "3:\xc3\xa9@7-15");
}

TEST(JsonReader, DepthLimitIsTheOneRule) {
  EXPECT_TRUE(read(std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']')).ok());
  auto deep = read(std::string(100000, '['));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("nested deeper than 64 levels"), std::string::npos);
}

}  // namespace
}  // namespace mdfs::json
