// The AWS personality over real HTTP: IMDSv2 session tokens (TTL, expiry, 401/403/400),
// the IMDSv1 switch, text listings and JSON leaves, public-keys as "0=name", user data
// byte for byte, the shipped scenarios, faults in AWS's shape, counters and controls.
#include <gtest/gtest.h>

#include <string>

#include "emulator/emulator.h"
#include "emulator/testing.h"

namespace mdfs::emu {
namespace {

using namespace std::chrono_literals;
using testing::Client;
using testing::Reply;

constexpr const char* kTtl = "X-aws-ec2-metadata-token-ttl-seconds";
constexpr const char* kToken = "X-aws-ec2-metadata-token";

Options awsOptions(const Clock* clock = nullptr, const std::string& scenario = "default") {
  Options o;
  o.cloud = Cloud::aws;
  o.clock = clock;
  o.scenario = scenario;
  return o;
}

class EmulatorAws : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emu.start().ok()); }
  Reply putToken(const std::string& ttl = "21600") {
    return Client(emu.url()).put("/latest/api/token", "", {{kTtl, ttl}}, "text/plain");
  }
  std::string token() { return putToken().body; }
  Reply get(const std::string& path) { return Client(emu.url()).get(path, {{kToken, token()}}); }

  FakeClock clock;
  Emulator emu{awsOptions(&clock)};
};

TEST_F(EmulatorAws, TokenPutAnswersTheTokenAndTheGrantedTtl) {
  const Reply r = putToken("900");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.body.empty());
  EXPECT_EQ(r.body.find_first_of("\r\n"), std::string::npos);
  EXPECT_EQ(r.header(kTtl), "900");
  EXPECT_EQ(r.header("Content-Type"), "text/plain");
  EXPECT_EQ(r.header("Server"), "EC2ws");
}

TEST_F(EmulatorAws, TokenPutNeedsATtlFrom1To21600) {
  Client c(emu.url());
  EXPECT_EQ(c.put("/latest/api/token", "", {}, "text/plain").status, 400);
  for (const char* bad : {"0", "21601", "-5", "ten", ""})
    EXPECT_EQ(putToken(bad).status, 400) << bad;
  EXPECT_EQ(putToken("1").status, 200);
  EXPECT_EQ(putToken("21600").status, 200);
}

TEST_F(EmulatorAws, TokenPutWithXForwardedForOrOnAVersionPathIs403) {
  Client c(emu.url());
  EXPECT_EQ(
      c.put("/latest/api/token", "", {{kTtl, "60"}, {"X-Forwarded-For", "10.0.0.9"}}, "text/plain")
          .status,
      403);
  EXPECT_EQ(c.put("/2021-03-23/api/token", "", {{kTtl, "60"}}, "text/plain").status, 403);
}

TEST_F(EmulatorAws, Imdsv2OnlyByDefaultAndImdsv1BySwitch) {
  Client c(emu.url());
  const Reply anonymous = c.get("/latest/meta-data/instance-id");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_NE(anonymous.body.find("401 - Unauthorized"), std::string::npos);
  EXPECT_EQ(c.get("/latest/meta-data/instance-id", {{kToken, "forged"}}).status, 401);
  EXPECT_EQ(get("/latest/meta-data/instance-id").body, "i-0a1b2c3d4e5f67890");

  emu.setAwsImdsV1Allowed(true);
  EXPECT_EQ(c.get("/latest/meta-data/instance-id").body, "i-0a1b2c3d4e5f67890");
  // A token that is sent must still be valid.
  EXPECT_EQ(c.get("/latest/meta-data/instance-id", {{kToken, "forged"}}).status, 401);
}

TEST_F(EmulatorAws, TokensHonourTheirTtlAndExpireAll) {
  const std::string t = putToken("60").body;
  Client c(emu.url());
  EXPECT_EQ(c.get("/latest/meta-data/ami-id", {{kToken, t}}).status, 200);
  clock.advance(59s);
  EXPECT_EQ(c.get("/latest/meta-data/ami-id", {{kToken, t}}).status, 200);
  clock.advance(1s);
  EXPECT_EQ(c.get("/latest/meta-data/ami-id", {{kToken, t}}).status, 401);

  const std::string u = token();
  emu.expireAllTokens();
  EXPECT_EQ(c.get("/latest/meta-data/ami-id", {{kToken, u}}).status, 401);
}

TEST_F(EmulatorAws, TheTokenCapShortensTheGrantedTtl) {
  emu.setTokenLifetimes(5s, 3600s);
  const Reply r = putToken("21600");
  EXPECT_EQ(r.header(kTtl), "5");
  clock.advance(5s);
  EXPECT_EQ(Client(emu.url()).get("/latest/meta-data/ami-id", {{kToken, r.body}}).status, 401);
}

TEST_F(EmulatorAws, ListingsMarkSubdirectoriesWithASlash) {
  const std::string root = get("/").body;
  EXPECT_NE(root.find("\n2021-03-23\nlatest"), std::string::npos);
  EXPECT_EQ(root.substr(0, 4), "1.0\n");
  EXPECT_EQ(get("/latest/").body, "meta-data\nuser-data\ndynamic");
  const std::string md = get("/latest/meta-data/").body;
  for (const char* line : {"ami-id", "iam/", "placement/", "public-keys/", "network/", "spot/",
                           "events/", "instance-id", "local-ipv4", "public-ipv4"}) {
    EXPECT_NE(("\n" + md + "\n").find("\n" + std::string(line) + "\n"), std::string::npos) << line;
  }
  EXPECT_NE(md.back(), '\n');                    // lines are separated, not terminated
  EXPECT_EQ(get("/latest/meta-data").body, md);  // a directory without its slash lists too
  EXPECT_EQ(get("/latest/meta-data/placement/").body,
            "availability-zone\navailability-zone-id\nregion");
  EXPECT_EQ(get("/latest/meta-data/iam/").body, "info\nsecurity-credentials/");
  EXPECT_EQ(get("/latest/meta-data/iam/security-credentials/").body, "mdfs-web-role");
  EXPECT_EQ(get("/2021-03-23/meta-data/instance-type").body, "m7g.large");
  EXPECT_EQ(get("/latest/meta-data/no-such-thing").status, 404);
  EXPECT_EQ(get("/1999-01-01/meta-data/").status, 404);
}

TEST_F(EmulatorAws, PublicKeysListAsIndexEqualsName) {
  EXPECT_EQ(get("/latest/meta-data/public-keys/").body, "0=alice-laptop\n1=deploy-ci");
  EXPECT_EQ(get("/latest/meta-data/public-keys/0/").body, "openssh-key");
  EXPECT_EQ(get("/latest/meta-data/public-keys/1/openssh-key").body.substr(0, 8), "ssh-rsa ");
  EXPECT_EQ(get("/latest/meta-data/public-keys/2/").status, 404);
}

TEST_F(EmulatorAws, JsonLeavesAreServedWholeInAwsStyle) {
  const Reply creds = get("/latest/meta-data/iam/security-credentials/mdfs-web-role");
  ASSERT_EQ(creds.status, 200);
  EXPECT_EQ(creds.body.substr(0, 23), "{\n  \"Code\" : \"Success\",");
  EXPECT_EQ(creds.at("/Type"), "AWS-HMAC");
  EXPECT_EQ(creds.header("Content-Type"), "text/plain");
  EXPECT_EQ(get("/latest/dynamic/instance-identity/document").at("/instanceId"),
            "i-0a1b2c3d4e5f67890");
  EXPECT_EQ(get("/latest/dynamic/instance-identity/").body, "document\npkcs7\nsignature");
  EXPECT_EQ(get("/latest/meta-data/spot/instance-action").at("/action"), "terminate");
  EXPECT_EQ(get("/latest/meta-data/events/maintenance/scheduled").at("/0/Code"), "system-reboot");
  EXPECT_EQ(get("/latest/meta-data/identity-credentials/ec2/security-credentials/").body,
            "ec2-instance");
}

TEST_F(EmulatorAws, UserDataIsServedByteForByte) {
  ASSERT_TRUE(emu.setData("/latest/user-data", "\"#!/bin/sh\\n\\u0001\\u00ff\"").ok());
  const Reply r = get("/latest/user-data");
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(r.body, "#!/bin/sh\n\x01\xc3\xbf");  // the JSON string's UTF-8, nothing added
  ASSERT_TRUE(emu.deleteData("/latest/user-data").ok());
  EXPECT_EQ(get("/latest/user-data").status, 404);
}

TEST_F(EmulatorAws, MethodsOtherThanGetArePutOnTheTokenOnly) {
  Client c(emu.url());
  EXPECT_EQ(c.post("/latest/meta-data/", "", {{kToken, token()}}).status, 405);
  EXPECT_EQ(c.put("/latest/meta-data/ami-id", "", {{kTtl, "60"}}, "text/plain").status, 405);
  EXPECT_EQ(c.get("/latest/api/token", {{kToken, token()}}).status, 405);
}

TEST_F(EmulatorAws, ScenarioEditsShowAtTheSamePath) {
  ASSERT_TRUE(emu.setData("/latest/meta-data/placement/availability-zone", R"("eu-west-1c")").ok());
  EXPECT_EQ(get("/latest/meta-data/placement/availability-zone").body, "eu-west-1c");
  ASSERT_TRUE(emu.addData("/latest/meta-data/public-keys",
                          R"({"name":"new-key","openssh-key":"ssh-ed25519 AAAA x"})")
                  .ok());
  EXPECT_EQ(get("/latest/meta-data/public-keys/").body, "0=alice-laptop\n1=deploy-ci\n2=new-key");
}

TEST_F(EmulatorAws, FaultsAnswerInAwsShape) {
  Fault disabled;  // IMDS turned off: the token PUT is refused
  disabled.kind = Fault::Kind::status;
  disabled.method = "PUT";
  disabled.path = "/latest/api/token";
  disabled.status = 403;
  emu.addFault(disabled);
  const Reply r = putToken();
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("<title>403 - Forbidden</title>"), std::string::npos);
  EXPECT_EQ(r.header("Content-Type"), "text/html");
  emu.clearFaults();

  Fault hop;  // the hop-limit trap: the token PUT's answer never arrives
  hop.kind = Fault::Kind::hang;
  hop.method = "PUT";
  hop.path = "/latest/api/token";
  emu.addFault(hop);
  const auto start = std::chrono::steady_clock::now();
  Client slow(emu.url());
  slow.readTimeout(300ms);
  EXPECT_EQ(slow.put("/latest/api/token", "", {{kTtl, "60"}}, "text/plain").status, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  emu.clearFaults();
  EXPECT_EQ(putToken().status, 200);

  Fault throttled;
  throttled.kind = Fault::Kind::status;
  throttled.path = "/latest/meta-data/*";
  throttled.status = 429;
  throttled.count = 1;
  emu.addFault(throttled);
  EXPECT_EQ(get("/latest/meta-data/ami-id").status, 429);
  EXPECT_EQ(get("/latest/meta-data/ami-id").status, 200);
}

TEST_F(EmulatorAws, CountersProveWhichPathsWereUsed) {
  emu.resetCounters();
  (void)get("/latest/meta-data/instance-id?x=1");
  EXPECT_EQ(emu.requests("PUT", "/latest/api/token"), 1U);
  EXPECT_EQ(emu.requests("GET", "/latest/meta-data/instance-id"), 1U);
  EXPECT_EQ(emu.totalRequests(), 2U);
}

TEST_F(EmulatorAws, ControlApiOverHttp) {
  Client c(emu.url());
  EXPECT_EQ(c.get("/_emulator/cloud").at("/cloud"), "aws");
  EXPECT_EQ(c.get("/_emulator/aws/imdsv1").at("/allowed"), "false");
  EXPECT_EQ(c.put("/_emulator/aws/imdsv1", R"({"allowed":true})").at("/allowed"), "true");
  EXPECT_EQ(c.get("/latest/meta-data/local-ipv4").body, "10.0.1.23");
  EXPECT_EQ(c.put("/_emulator/aws/imdsv1", R"({"allowed":1})").status, 400);
  EXPECT_EQ(c.put("/_emulator/data?pointer=/latest/meta-data/local-ipv4", R"("10.0.1.99")").status,
            200);
  EXPECT_EQ(c.get("/latest/meta-data/local-ipv4").body, "10.0.1.99");
  EXPECT_EQ(c.get("/_emulator/counters").at("/requests/GET ~1latest~1meta-data~1local-ipv4"), "2");
  EXPECT_EQ(c.post("/_emulator/faults", R"({"kind":"impostor"})").status, 200);
  EXPECT_EQ(c.get("/latest/meta-data/local-ipv4").header("Server"), "");
}

TEST_F(EmulatorAws, ServiceDisabledRefusesConnections) {
  emu.setServiceEnabled(false);
  Client c(emu.url());
  EXPECT_EQ(c.put("/latest/api/token", "", {{kTtl, "60"}}, "text/plain").status, 0);
  emu.setServiceEnabled(true);
  EXPECT_EQ(putToken().status, 200);
}

TEST(EmulatorAwsScenarios, ThePrivateScenarioHasNoPublicAddressUserDataOrRole) {
  Emulator emu(awsOptions(nullptr, "aws-private"));
  ASSERT_TRUE(emu.start().ok());
  Client c(emu.url());
  const std::string t = c.put("/latest/api/token", "", {{kTtl, "60"}}, "text/plain").body;
  EXPECT_EQ(c.get("/latest/meta-data/public-ipv4", {{kToken, t}}).status, 404);
  EXPECT_EQ(c.get("/latest/meta-data/local-ipv4", {{kToken, t}}).body, "10.0.1.23");
  EXPECT_EQ(c.get("/latest/user-data", {{kToken, t}}).status, 404);
  EXPECT_EQ(c.get("/latest/meta-data/iam/", {{kToken, t}}).status, 404);
  EXPECT_EQ(c.get("/latest/meta-data/instance-life-cycle", {{kToken, t}}).body, "on-demand");
  EXPECT_EQ(c.get("/latest/meta-data/public-keys/", {{kToken, t}}).body, "0=alice-laptop");
}

TEST(EmulatorAwsScenarios, AScenarioOfAnotherCloudIsRefused) {
  Emulator emu(awsOptions(nullptr, "gcp"));
  const Status s = emu.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("is for cloud 'gcp', not 'aws'"), std::string::npos);
}

}  // namespace
}  // namespace mdfs::emu
