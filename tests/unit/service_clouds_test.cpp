// The AWS (IMDSv2), GCE and Azure clients against the emulator's personalities: headers,
// tokens, checks on answers, retry rules, and what a failure says (docs/clouds/).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "emulator/emulator.h"
#include "service/aws.h"
#include "service/azure.h"
#include "service/cloud_detect.h"
#include "service/gcp.h"

namespace mdfs::service {
namespace {

using namespace std::chrono_literals;

class CloudClientTest : public ::testing::Test {
 protected:
  void start(emu::Cloud cloud) {
    emu::Options o;
    o.cloud = cloud;
    emu_ = std::make_unique<emu::Emulator>(o);
    ASSERT_TRUE(emu_->start().ok());
    http_ = std::make_unique<HttpTransport>(TransportOptions{}, log_);
  }
  static RetryPolicy quickRetries() {
    RetryPolicy r;
    r.initial_backoff = 10ms;
    r.max_backoff = 50ms;
    return r;
  }
  static emu::Fault fault(emu::Fault::Kind kind, const char* path, int status = 500, int count = -1,
                          const char* method = "") {
    emu::Fault f;
    f.kind = kind;
    f.path = path;
    f.status = status;
    f.count = count;
    f.method = method;
    return f;
  }

  SystemClock clock_;
  Logger log_{LogLevel::error, Logger::nullSink()};
  std::unique_ptr<emu::Emulator> emu_;
  std::unique_ptr<HttpTransport> http_;
};

class Aws : public CloudClientTest {
 protected:
  void SetUp() override {
    start(emu::Cloud::aws);
    config_.endpoint = emu_->url();
    config_.token_ttl_s = 600;
    config_.retry = quickRetries();
    tokens_ = std::make_unique<AwsTokenSource>(config_, *http_, clock_, log_);
    client_ = std::make_unique<AwsClient>(config_, *http_, *tokens_, log_);
  }
  Result<std::string> get(const char* path, Millis budget = 5s) {
    return client_->get(path, "", deadlineIn(budget), nullptr);
  }
  AwsConfig config_;
  std::unique_ptr<AwsTokenSource> tokens_;
  std::unique_ptr<AwsClient> client_;
};

TEST_F(Aws, OneSessionTokenServesEveryGet) {
  auto id = get("/latest/meta-data/instance-id");
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(id.value().rfind("i-", 0), 0U) << id.value();
  auto listing = get("/latest/meta-data/placement/");
  ASSERT_TRUE(listing.ok());
  EXPECT_NE(listing->find("availability-zone"), std::string::npos);
  EXPECT_EQ(emu_->requests("PUT", "/latest/api/token"), 1U);
}

TEST_F(Aws, AnExpiredTokenIsReacquiredOnce) {
  ASSERT_TRUE(get("/latest/meta-data/instance-id").ok());
  emu_->expireAllTokens();
  ASSERT_TRUE(get("/latest/meta-data/instance-id").ok());
  EXPECT_EQ(emu_->requests("PUT", "/latest/api/token"), 2U);
}

TEST_F(Aws, AMissingPathIsNotFound) {
  auto r = get("/latest/meta-data/no-such-thing");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
}

TEST_F(Aws, A403OnTheTokenPutSaysTheServiceIsTurnedOffAndFailsFast) {
  emu_->addFault(fault(emu::Fault::Kind::status, "/latest/api/token", 403, -1, "PUT"));
  const auto start = std::chrono::steady_clock::now();
  auto r = get("/latest/meta-data/instance-id");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().errnum, EACCES);
  EXPECT_NE(r.error().message.find("IMDS is turned off"), std::string::npos) << r.error().message;
  EXPECT_EQ(emu_->requests("PUT", "/latest/api/token"), 1U);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(Aws, ATokenPutThatTimesOutNamesTheHopLimit) {
  emu_->addFault(fault(emu::Fault::Kind::hang, "/latest/api/token", 0, -1, "PUT"));
  auto r = get("/latest/meta-data/instance-id", 500ms);
  emu_->clearFaults();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().errnum, ETIMEDOUT);
  EXPECT_NE(r.error().message.find("hop limit"), std::string::npos) << r.error().message;
}

TEST_F(Aws, Imdsv1OnlyWhenAllowed) {
  emu_->setAwsImdsV1Allowed(true);
  emu_->addFault(fault(emu::Fault::Kind::status, "/latest/api/token", 403, -1, "PUT"));
  EXPECT_FALSE(get("/latest/meta-data/instance-id").ok()) << "IMDSv1 is off by default";
  config_.imdsv1 = true;
  auto r = get("/latest/meta-data/instance-id");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r.value().rfind("i-", 0), 0U);
}

class Gcp : public CloudClientTest {
 protected:
  void SetUp() override {
    start(emu::Cloud::gcp);
    config_.endpoint = emu_->url();
    config_.retry = quickRetries();
    client_ = std::make_unique<GcpClient>(config_, *http_, log_);
  }
  Result<std::string> get(const char* path) {
    return client_->get(path, "", deadlineIn(5s), nullptr);
  }
  GcpConfig config_;
  std::unique_ptr<GcpClient> client_;
};

TEST_F(Gcp, LeavesAndListingsWithTheFlavorHeader) {
  auto host = get("/computeMetadata/v1/instance/hostname");
  ASSERT_TRUE(host.ok()) << host.error().describe();
  EXPECT_FALSE(host->empty());
  auto listing = get("/computeMetadata/v1/instance/");
  ASSERT_TRUE(listing.ok());
  EXPECT_NE(listing->find("network-interfaces/"), std::string::npos) << listing.value();
}

TEST_F(Gcp, ADirectoryWithoutItsSlashIsAskedAgainWithIt) {
  auto listing = get("/computeMetadata/v1/instance");
  ASSERT_TRUE(listing.ok()) << listing.error().describe();
  EXPECT_NE(listing->find("hostname"), std::string::npos);
}

TEST_F(Gcp, AnAnswerWithoutTheFlavorHeaderIsRefused) {
  emu_->addFault(fault(emu::Fault::Kind::impostor, "*"));
  auto r = get("/computeMetadata/v1/instance/hostname");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::malformed);
  EXPECT_NE(r.error().message.find("not from the metadata server"), std::string::npos);
}

TEST_F(Gcp, MaintenanceUnavailabilityIsRetried) {
  emu_->addFault(fault(emu::Fault::Kind::status, "/computeMetadata/v1/instance/hostname", 503, 2));
  auto r = get("/computeMetadata/v1/instance/hostname");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(emu_->requests("GET", "/computeMetadata/v1/instance/hostname"), 3U);
}

class Azure : public CloudClientTest {
 protected:
  void SetUp() override {
    start(emu::Cloud::azure);
    config_.endpoint = emu_->url();
    config_.retry = quickRetries();
    config_.retry.retry_gone = true;
    client_ = std::make_unique<AzureClient>(config_, *http_, log_);
  }
  Result<std::string> get(const char* path) {
    return client_->get(path, "", deadlineIn(5s), nullptr);
  }
  AzureConfig config_;
  std::unique_ptr<AzureClient> client_;
};

TEST_F(Azure, EachFamilyGetsItsOwnApiVersion) {
  EXPECT_EQ(client_->url("/metadata/instance"),
            emu_->url() + "/metadata/instance?api-version=2025-04-07");
  EXPECT_EQ(client_->url("/metadata/scheduledevents"),
            emu_->url() + "/metadata/scheduledevents?api-version=2020-07-01");
  EXPECT_EQ(
      client_->url("/metadata/identity/oauth2/token?resource=https://x/"),
      emu_->url() + "/metadata/identity/oauth2/token?resource=https://x/&api-version=2018-02-01");
  auto doc = get("/metadata/instance");
  ASSERT_TRUE(doc.ok()) << doc.error().describe();
  EXPECT_NE(doc->find("\"compute\""), std::string::npos);
  EXPECT_TRUE(get("/metadata/scheduledevents").ok());
}

TEST_F(Azure, UpdatingImdsIsWaitedFor) {
  emu_->addFault(fault(emu::Fault::Kind::status, "/metadata/instance", 410, 2));
  auto doc = get("/metadata/instance");
  ASSERT_TRUE(doc.ok()) << doc.error().describe();
  EXPECT_EQ(emu_->requests("GET", "/metadata/instance"), 3U);
}

TEST_F(Azure, AnUnsupportedApiVersionIsABadRequest) {
  config_.api_version = "2001-01-01";
  auto doc = get("/metadata/instance");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().http_status, 400);
  EXPECT_EQ(doc.error().errnum, EIO);
}

}  // namespace
}  // namespace mdfs::service

namespace mdfs::service {
namespace {

std::string dmi(const char* name) {
  return std::string(MDFS_SOURCE_DIR) + "/tests/emulator/dmi/" + name;
}

TEST(CloudDetection, EachCloudByItsSmbiosMarker) {
  EXPECT_EQ(detectCloud(dmi("aws-nitro")).cloud, Cloud::aws);
  EXPECT_EQ(detectCloud(dmi("aws-xen")).cloud, Cloud::aws);
  EXPECT_EQ(detectCloud(dmi("gcp")).cloud, Cloud::gcp);
  EXPECT_EQ(detectCloud(dmi("azure")).cloud, Cloud::azure);
  EXPECT_EQ(detectCloud(dmi("ibm")).cloud, Cloud::ibm);
  auto azure = detectCloud(dmi("azure"));
  EXPECT_NE(azure.reason.find("chassis_asset_tag"), std::string::npos) << azure.reason;
}

TEST(CloudDetection, UnknownHardwareMeansIbmAndSaysWhy) {
  auto unknown = detectCloud(dmi("unknown"));
  EXPECT_EQ(unknown.cloud, Cloud::ibm);
  EXPECT_NE(unknown.reason.find("IBM Cloud assumed"), std::string::npos) << unknown.reason;
  EXPECT_NE(unknown.reason.find("LENOVO"), std::string::npos) << unknown.reason;
  EXPECT_EQ(detectCloud("/nonexistent").cloud, Cloud::ibm);
}

}  // namespace
}  // namespace mdfs::service
