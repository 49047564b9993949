#include <gtest/gtest.h>

#include "service/api.h"
#include "service/http_transport.h"

namespace mdfs::service {
namespace {

ApiConfig withVersion(std::string version) {
  ApiConfig api;
  api.endpoint = "http://127.0.0.1:8080";
  api.version = std::move(version);
  return api;
}

TEST(ServiceApi, VersionPicksIdentityPathFamily) {
  EXPECT_EQ(withVersion("2022-03-01").identityBase(), "/instance_identity/v1");
  EXPECT_EQ(withVersion("2025-08-25").identityBase(), "/instance_identity/v1");
  EXPECT_EQ(withVersion("2025-08-26").identityBase(), "/identity/v1");
  EXPECT_EQ(withVersion("2026-01-30").identityBase(), "/identity/v1");
}

TEST(ServiceApi, TokenUrlsFollowTheVersion) {
  EXPECT_EQ(withVersion("2024-11-12").tokenUrl(),
            "http://127.0.0.1:8080/instance_identity/v1/token?version=2024-11-12");
  EXPECT_EQ(withVersion("2024-11-12").iamTokenUrl(),
            "http://127.0.0.1:8080/instance_identity/v1/iam_token?version=2024-11-12");
  EXPECT_EQ(withVersion("2025-08-26").tokenUrl(),
            "http://127.0.0.1:8080/identity/v1/token?version=2025-08-26");
  EXPECT_EQ(withVersion("2025-08-26").iamTokenUrl(),
            "http://127.0.0.1:8080/identity/v1/iam_tokens?version=2025-08-26");
}

TEST(ServiceApi, UrlAddsVersionAndQuery) {
  ApiConfig api = withVersion("2025-08-26");
  EXPECT_EQ(api.url("/metadata/v1/keys"),
            "http://127.0.0.1:8080/metadata/v1/keys?version=2025-08-26");
  EXPECT_EQ(api.url("/metadata/v1/keys", "limit=2"),
            "http://127.0.0.1:8080/metadata/v1/keys?version=2025-08-26&limit=2");
  api.endpoint = "http://127.0.0.1:8080/";
  EXPECT_EQ(api.url("/metadata/v1/instance"),
            "http://127.0.0.1:8080/metadata/v1/instance?version=2025-08-26");
}

TEST(ServiceApi, VersionDates) {
  EXPECT_TRUE(isValidVersionDate("2025-08-26"));
  EXPECT_TRUE(isValidVersionDate("2024-02-29"));
  EXPECT_TRUE(isValidVersionDate("2000-02-29"));
  EXPECT_FALSE(isValidVersionDate("2023-02-29"));
  EXPECT_FALSE(isValidVersionDate("2100-02-29"));
  EXPECT_FALSE(isValidVersionDate("2025-04-31"));
  EXPECT_FALSE(isValidVersionDate("2025-13-01"));
  EXPECT_FALSE(isValidVersionDate("2025-00-10"));
  EXPECT_FALSE(isValidVersionDate("2025-1-01"));
  EXPECT_FALSE(isValidVersionDate("2025/01/01"));
  EXPECT_FALSE(isValidVersionDate("2025-01-0x"));
  EXPECT_FALSE(isValidVersionDate(""));
}

// The rules the command line applies to endpoint= and api_version=.
TEST(ServiceApi, EndpointsAreSchemeHostAndPortOnly) {
  EXPECT_EQ(parseEndpoint("http://api.metadata.cloud.ibm.com").value(),
            std::string(kDefaultEndpoint));
  EXPECT_EQ(parseEndpoint("https://api.metadata.cloud.ibm.com:8443//").value(),
            "https://api.metadata.cloud.ibm.com:8443");
  EXPECT_EQ(parseEndpoint("http://[fd00::1]:8080").value(), "http://[fd00::1]:8080");
  for (const char* bad : {"ftp://host", "host", "http://", "http:///", "http://host/metadata",
                          "http://host?x=1", "http://host#f", "http://user@host", "http://ho st",
                          "http://host\\x", "http://ho\tst", "HTTP://host"}) {
    auto r = parseEndpoint(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().errnum, EINVAL);
    EXPECT_NE(r.error().message.find("http"), std::string::npos) << r.error().message;
  }
}

TEST(ServiceApi, VersionsAreDatesFromTheFirstTheServiceAccepts) {
  EXPECT_TRUE(checkVersion(kDefaultVersion).ok());
  EXPECT_TRUE(checkVersion(kMinimumVersion).ok());
  EXPECT_TRUE(checkVersion("2024-11-12").ok());
  for (const char* bad :
       {"2022-02-28", "2021-09-30", "yesterday", "2025-02-30", "26-08-2025", ""}) {
    Status s = checkVersion(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message.find(std::string(kMinimumVersion)), std::string::npos);
  }
}

TEST(ServiceApi, DefaultsAreTheDocumentedOnes) {
  ApiConfig api;
  EXPECT_EQ(api.endpoint, "http://api.metadata.cloud.ibm.com");
  EXPECT_EQ(api.version, "2025-08-26");
  EXPECT_EQ(api.token_ttl_s, 300);
  EXPECT_GE(api.token_ttl_s, kMinTokenTtl);
  EXPECT_LE(api.token_ttl_s, kMaxTokenTtl);
}

TEST(ServiceApi, ResolveEntryPinsTheEndpointHost) {
  EXPECT_EQ(resolveEntry("http://api.metadata.cloud.ibm.com", "169.254.169.254"),
            "api.metadata.cloud.ibm.com:80:169.254.169.254");
  EXPECT_EQ(resolveEntry("https://api.metadata.cloud.ibm.com", "169.254.169.254"),
            "api.metadata.cloud.ibm.com:443:169.254.169.254");
  EXPECT_EQ(resolveEntry("https://api.metadata.cloud.ibm.com:8443/", "127.0.0.1"),
            "api.metadata.cloud.ibm.com:8443:127.0.0.1");
  EXPECT_EQ(resolveEntry("ftp://host", "127.0.0.1"), std::nullopt);
  EXPECT_EQ(resolveEntry("http://", "127.0.0.1"), std::nullopt);
}

TEST(ServiceApi, DefaultResolvePinsOnlyTheMetadataHost) {
  EXPECT_EQ(defaultResolve("http://api.metadata.cloud.ibm.com"),
            std::vector<std::string>{"api.metadata.cloud.ibm.com:80:169.254.169.254"});
  EXPECT_EQ(defaultResolve("https://api.metadata.cloud.ibm.com"),
            std::vector<std::string>{"api.metadata.cloud.ibm.com:443:169.254.169.254"});
  EXPECT_TRUE(defaultResolve("http://169.254.169.254").empty());
  EXPECT_TRUE(defaultResolve("http://127.0.0.1:8080").empty());
  EXPECT_TRUE(defaultResolve("http://api.metadata.cloud.ibm.com.evil.example").empty());
}

}  // namespace
}  // namespace mdfs::service
