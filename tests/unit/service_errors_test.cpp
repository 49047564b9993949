#include <gtest/gtest.h>

#include <string>

#include "service/errors.h"

namespace mdfs::service {
namespace {

TEST(ServiceErrors, StatusOutcomes) {
  EXPECT_EQ(outcomeForStatus(401), Outcome::unauthenticated);
  EXPECT_EQ(outcomeForStatus(403), Outcome::forbidden);
  EXPECT_EQ(outcomeForStatus(404), Outcome::not_found);
  EXPECT_EQ(outcomeForStatus(429), Outcome::throttled);
  EXPECT_EQ(outcomeForStatus(500), Outcome::server_error);
  EXPECT_EQ(outcomeForStatus(503), Outcome::server_error);
  EXPECT_EQ(outcomeForStatus(400), Outcome::bad_request);
  EXPECT_EQ(outcomeForStatus(409), Outcome::bad_request);
  EXPECT_EQ(outcomeForStatus(302), Outcome::malformed);
  EXPECT_EQ(outcomeForStatus(100), Outcome::malformed);
  EXPECT_TRUE(isSuccessStatus(200));
  EXPECT_TRUE(isSuccessStatus(201));
  EXPECT_FALSE(isSuccessStatus(199));
  EXPECT_FALSE(isSuccessStatus(300));
  EXPECT_TRUE(isRetryableStatus(429));
  EXPECT_TRUE(isRetryableStatus(500));
  EXPECT_TRUE(isRetryableStatus(503));
  EXPECT_FALSE(isRetryableStatus(400));
  EXPECT_FALSE(isRetryableStatus(401));
  EXPECT_FALSE(isRetryableStatus(404));
  EXPECT_FALSE(isRetryableStatus(200));
}

TEST(ServiceErrors, ParsesDocumentedErrorBody) {
  Error e = outcomeError(Outcome::bad_request, "PUT http://x/identity/v1/token");
  parseIbmError(
      R"({"errors":[{"code":"invalid_value","message":"The `expires_in` field must not exceed `3600`.",
        "more_info":"https://cloud.ibm.com/docs","target":{"name":"expires_in","type":"field","value":"7200"}}],
        "status_code":400,"trace":"e37872f6-f9a4-4084-a1a8-e56a1c8c8d3d"})",
      e);
  EXPECT_EQ(e.code, "invalid_value");
  EXPECT_EQ(e.trace, "e37872f6-f9a4-4084-a1a8-e56a1c8c8d3d");
  EXPECT_EQ(e.message,
            "PUT http://x/identity/v1/token: The `expires_in` field must not exceed `3600`.");
}

TEST(ServiceErrors, ParsesCapturedErrorBody) {
  Error e;
  e.message.clear();
  parseIbmError(
      R"({"errors":[{"code":"invalid_version_range","message":"The `version` value cannot be before `2022-03-01`.","target":{"name":"2021-09-30","type":"parameter"}}],"trace":"182e21b1"})",
      e);
  EXPECT_EQ(e.code, "invalid_version_range");
  EXPECT_EQ(e.trace, "182e21b1");
  EXPECT_EQ(e.message, "The `version` value cannot be before `2022-03-01`.");
}

TEST(ServiceErrors, ToleratesOtherBodies) {
  for (const char* body : {"", "not json", "[]", "{}", R"({"errors":"x"})", R"({"errors":[]})",
                           R"({"errors":[1]})", R"({"errors":[{"code":7}],"trace":[]})",
                           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}) {
    Error e = outcomeError(Outcome::server_error, "GET u");
    parseIbmError(body, e);
    EXPECT_EQ(e.message, "GET u") << body;
    EXPECT_TRUE(e.code.empty()) << body;
    EXPECT_TRUE(e.trace.empty()) << body;
  }
  std::string deep(100000, '[');
  Error e;
  parseIbmError(deep, e);  // refused without recursing
  EXPECT_TRUE(e.code.empty());
}

TEST(ServiceErrors, WireTextIsSanitizedAndBounded) {
  Error e = outcomeError(Outcome::server_error, "GET u");
  const std::string longText(1000, 'x');
  parseIbmError(R"({"errors":[{"code":"a\nb","message":")" + longText + R"("}],"trace":"t\u0001"})",
                e);
  EXPECT_EQ(e.code, "a b");
  EXPECT_EQ(e.trace, "t ");
  EXPECT_LT(e.message.size(), 400U);
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
}

TEST(ServiceErrors, ResponseErrorCarriesStatusCodeAndTrace) {
  Error e =
      responseError(Outcome::not_found, "GET http://x/metadata/v1/keys/k9", 404,
                    R"({"errors":[{"code":"not_found","message":"Key not found."}]})", "req-123");
  EXPECT_EQ(e.errnum, ENOENT);
  EXPECT_EQ(e.level, LogLevel::debug);
  EXPECT_EQ(e.http_status, 404);
  EXPECT_EQ(e.code, "not_found");
  EXPECT_EQ(e.trace, "req-123");  // X-Request-Id stands in for the missing trace
  EXPECT_EQ(e.describe(),
            "GET http://x/metadata/v1/keys/k9: Key not found. (HTTP 404, code not_found, trace "
            "req-123)");
  Error plain = responseError(Outcome::server_error, "GET u", 503, "", "");
  EXPECT_EQ(plain.describe(), "GET u (HTTP 503)");
}

}  // namespace
}  // namespace mdfs::service
