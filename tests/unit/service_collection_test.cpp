#include <gtest/gtest.h>

#include <string>

#include "service/collection.h"

namespace mdfs::service {
namespace {

TEST(ServiceCollection, StartFromAbsoluteHref) {
  EXPECT_EQ(queryParameter("http://api.metadata.cloud.ibm.com/metadata/v1/placement_groups?"
                           "limit=2&start=r006-abc",
                           "start"),
            "r006-abc");
}

TEST(ServiceCollection, StartFromHrefWithoutMetadataSegment) {
  EXPECT_EQ(
      queryParameter("http://169.254.169.254/v1/placement_groups?start=tok&limit=50", "start"),
      "tok");
}

TEST(ServiceCollection, StartFromRelativeHref) {
  EXPECT_EQ(queryParameter("/v1/keys?start=a%2Fb%3D%3D&limit=1", "start"), "a/b==");
  EXPECT_EQ(queryParameter("keys?start=x#frag", "start"), "x");
}

TEST(ServiceCollection, MissingOrEmptyParameters) {
  EXPECT_EQ(queryParameter("http://h/v1/keys", "start"), std::nullopt);
  EXPECT_EQ(queryParameter("http://h/v1/keys?limit=5", "start"), std::nullopt);
  EXPECT_EQ(queryParameter("http://h/v1/keys?restart=5", "start"), std::nullopt);
  EXPECT_EQ(queryParameter("http://h/v1/keys?start", "start"), "");
  EXPECT_EQ(queryParameter("http://h/v1/keys?start=%zz+", "start"), "%zz+");
}

TEST(ServiceCollection, PercentEncodeRoundTrips) {
  const std::string token = "a b/c+d=e&f%g~h_i.j-k\xc3\xa9";
  const std::string encoded = percentEncode(token);
  EXPECT_EQ(encoded, "a%20b%2Fc%2Bd%3De%26f%25g~h_i.j-k%C3%A9");
  EXPECT_EQ(queryParameter("/x?start=" + encoded, "start"), token);
}

TEST(ServiceCollection, SinglePageHasNoNext) {
  CollectionMerger merger("keys");
  ASSERT_TRUE(merger.add(R"({"keys":[{"id":"k1"}]})").ok());
  EXPECT_EQ(merger.nextStart(), std::nullopt);
  EXPECT_EQ(merger.itemCount(), 1U);
  EXPECT_EQ(merger.totalCount(), std::nullopt);
}

TEST(ServiceCollection, MergesPagesInOrderAndDropsNext) {
  CollectionMerger merger("placement_groups");
  ASSERT_TRUE(merger
                  .add(R"({"first":{"href":"http://h/v1/placement_groups?limit=2"},"limit":2,
                  "next":{"href":"http://h/v1/placement_groups?start=p2&limit=2"},
                  "placement_groups":[{"id":"a"},{"id":"b"}],"total_count":5})")
                  .ok());
  EXPECT_EQ(merger.nextStart(), "p2");
  ASSERT_TRUE(merger
                  .add(R"({"limit":2,"next":{"start":"p3","href":"ignored?start=zzz"},
                  "placement_groups":[{"id":"c"},{"id":"d"}],"total_count":5})")
                  .ok());
  EXPECT_EQ(merger.nextStart(), "p3");  // next.start wins over next.href
  ASSERT_TRUE(merger.add(R"({"limit":2,"placement_groups":[{"id":"e"}],"total_count":5})").ok());
  EXPECT_EQ(merger.nextStart(), std::nullopt);
  EXPECT_EQ(merger.itemCount(), 5U);
  EXPECT_EQ(merger.totalCount(), 5);
  EXPECT_EQ(merger.document(),
            R"({"first":{"href":"http://h/v1/placement_groups?limit=2"},"limit":2,)"
            R"("placement_groups":[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"},{"id":"e"}],)"
            R"("total_count":5})");
}

TEST(ServiceCollection, NullNextEndsTheCollection) {
  CollectionMerger merger("keys");
  ASSERT_TRUE(merger.add(R"({"keys":[],"next":null})").ok());
  EXPECT_EQ(merger.nextStart(), std::nullopt);
}

TEST(ServiceCollection, RejectsMalformedPages) {
  for (const char* body :
       {"", "{", "not json", "[]", R"({"items":[]})", R"({"keys":{}})", R"({"keys":[],"next":5})",
        R"({"keys":[],"next":{"href":"http://h/v1/keys?limit=1"}})", R"({"keys":[],"next":{}})",
        R"({"keys":5,"keys":[]})"}) {
    CollectionMerger merger("keys");
    Status s = merger.add(body);
    ASSERT_FALSE(s.ok()) << body;
    EXPECT_EQ(s.error().errnum, EIO) << body;
    EXPECT_EQ(s.error().level, LogLevel::error) << body;
  }
}

TEST(ServiceCollection, RejectsDeepNestingWithoutCrashing) {
  const std::string deep =
      R"({"keys":[)" + std::string(200000, '[') + std::string(200000, ']') + "]}";
  CollectionMerger merger("keys");
  EXPECT_FALSE(merger.add(deep).ok());
}

TEST(ServiceCollection, TrailingBytesAfterANulAreRefused) {
  CollectionMerger merger("keys");
  EXPECT_FALSE(merger.add(std::string("{\"keys\":[]}\0{}", 13)).ok());
}

// Issue 11 D4: pages used to be re-rendered through doubles (0.50 -> 0.5, -0 -> 0,
// 1E2 -> 100.0, 30-digit integers rounded).
TEST(ServiceCollection, NumbersAndStringsStayExactlyAsSent) {
  CollectionMerger merger("keys");
  ASSERT_TRUE(merger
                  .add(R"({"keys":[{"id":"a","v":0.50,"w":-0},{"id":"b","v":1E2}],)"
                       R"("limit":1.0,"next":{"start":"2"},"total_count":3})")
                  .ok());
  ASSERT_TRUE(merger
                  .add(R"({"keys":[ {"id":"c", "v":123456789012345678901234567890,)"
                       "\"s\":\"\xff\\u00e9\\n\",\"x\":1e999} ]}")
                  .ok());
  EXPECT_EQ(merger.itemCount(), 3U);
  EXPECT_EQ(merger.totalCount(), 3);
  EXPECT_EQ(merger.document(),
            R"({"keys":[{"id":"a","v":0.50,"w":-0},{"id":"b","v":1E2},)"
            R"({"id":"c", "v":123456789012345678901234567890,)"
            "\"s\":\"\xff\\u00e9\\n\",\"x\":1e999}],\"limit\":1.0,\"total_count\":3}");
}

TEST(ServiceCollection, SinglePageKeepsEveryValue) {
  CollectionMerger merger("keys");
  const std::string page = R"({"a":[1.50, -0],"keys":[],"b":{"c":1e-7}})";
  ASSERT_TRUE(merger.add(page).ok());
  EXPECT_EQ(merger.document(), page);
}

TEST(ServiceCollection, LaterMalformedPageIsAnError) {
  CollectionMerger merger("keys");
  ASSERT_TRUE(merger.add(R"({"keys":[{"id":"a"}],"next":{"start":"2"}})").ok());
  EXPECT_FALSE(merger.add(R"({"keys":[{"id":"b"})").ok());
}

}  // namespace
}  // namespace mdfs::service
