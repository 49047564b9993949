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

TEST(ServiceApi, ValidateAcceptsDefaultsAndRejectsNonsense) {
  EXPECT_TRUE(ApiConfig{}.validate().ok());
  auto rejects = [](auto mutate) {
    ApiConfig api;
    mutate(api);
    Status s = api.validate();
    return !s.ok() && s.error().errnum == EINVAL && !s.error().message.empty();
  };
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.endpoint = "ftp://host"; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.endpoint = "http://host/metadata"; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.endpoint = "http://"; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.version = "2021-09-30"; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.version = "yesterday"; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.token_ttl_s = 4; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.token_ttl_s = 3601; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.page_limit = 0; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.page_limit = 101; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.max_pages = 0; }));
  EXPECT_TRUE(rejects([](ApiConfig& a) { a.retry.max_attempts = 0; }));
  ApiConfig ok;
  ok.endpoint = "https://api.metadata.cloud.ibm.com:8443";
  ok.token_ttl_s = 5;
  EXPECT_TRUE(ok.validate().ok());
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
