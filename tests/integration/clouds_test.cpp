// AWS, GCE and Azure mounted for real (issue 16): the tree against the scenario, economy,
// freshness, AWS session tokens, secrets' modes, faults that never hang, well-known/ values
// and cloud=auto over the fake DMI folders.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

emu::Options cloudOptions(emu::Cloud cloud) {
  emu::Options o;
  o.cloud = cloud;
  return o;
}

// Regular files under `root` (symbolic links not followed), relative to it.
std::vector<std::string> filesUnder(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      out.push_back(fs::relative(it->path(), root).string());
    }
  }
  return out;
}

std::string pointerOf(const std::string& prefix, const std::string& rel) {
  std::string out = prefix;
  for (char c : rel) {
    if (c == '~') {
      out += "~0";
    } else {
      out += c;
    }
  }
  return out;
}

std::uint32_t modeOf(const std::string& path) {
  return statOf(path).st_mode & 07777;
}

// Every file of the tree whose scenario value is a string or a number holds that value
// (with the newline rule; user data byte for byte); every listed file can be read.
void expectTreeMatchesScenario(const emu::Emulator& emulator, const Mount& m,
                               const std::string& prefix, const std::vector<std::string>& blobs) {
  std::size_t compared = 0;
  const auto files = filesUnder(m.path());
  ASSERT_GT(files.size(), 20U);
  for (const auto& rel : files) {
    int err = 0;
    const std::string bytes = readFile(m.at(rel), &err);
    EXPECT_EQ(err, 0) << rel;
    if (rel.rfind("well-known", 0) == 0) continue;
    auto value = emulator.data(pointerOf(prefix, rel));
    if (!value) continue;
    rapidjson::Document doc;
    doc.Parse(value->c_str());
    if (doc.HasParseError()) continue;
    const bool blob = std::find(blobs.begin(), blobs.end(), rel) != blobs.end();
    if (doc.IsString()) {
      const std::string s(doc.GetString(), doc.GetStringLength());
      EXPECT_EQ(bytes, blob ? s : s + "\n") << rel;
      ++compared;
    } else if (doc.IsNumber()) {
      EXPECT_EQ(bytes, *value + "\n") << rel << " (numbers as sent)";
      ++compared;
    }
  }
  EXPECT_GT(compared, 15U);
}

// Every resource was asked for once: nothing is fetched twice within its TTL.
void expectEachGetOnce(const emu::Emulator& emulator) {
  for (const auto& [key, count] : emulator.requestCounts()) {
    if (key.rfind("GET ", 0) != 0) continue;
    EXPECT_EQ(count, 1U) << key;
  }
}

TEST(Clouds, AwsTreeMatchesTheScenarioAndAFullWalkUsesOneToken) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::aws));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"ttl=3600"});
  ASSERT_TRUE(m.mounted());
  EXPECT_EQ(emulator.totalRequests(), 0U) << "mounting fetches nothing";
  expectTreeMatchesScenario(emulator, m, "/latest/", {"user-data"});
  EXPECT_EQ(emulator.requests("PUT", "/latest/api/token"), 1U);
  expectEachGetOnce(emulator);
  std::cout << "aws: full walk = " << emulator.totalRequests() << " requests\n";
  // Links and index directories of public-keys.
  std::error_code ec;
  EXPECT_EQ(fs::read_symlink(m.at("meta-data/public-keys/by-name/alice-laptop"), ec), "../0");
  EXPECT_NE(readFile(m.at("meta-data/public-keys/by-name/deploy-ci/openssh-key")).find("ssh-rsa"),
            std::string::npos);
  EXPECT_TRUE(S_ISDIR(statOf(m.at("meta-data")).st_mode));
  EXPECT_TRUE(S_ISDIR(statOf(m.at("dynamic/instance-identity")).st_mode));
}

TEST(Clouds, AwsSecretsAre0400) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::aws));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator);
  EXPECT_EQ(modeOf(m.at("user-data")), 0400U);
  EXPECT_EQ(modeOf(m.at("meta-data/iam/security-credentials")), 0500U);
  EXPECT_EQ(modeOf(m.at("meta-data/iam/security-credentials/mdfs-web-role")), 0400U);
  EXPECT_EQ(modeOf(m.at("meta-data/identity-credentials/ec2/security-credentials/ec2-instance")),
            0400U);
  EXPECT_EQ(modeOf(m.at("meta-data/instance-id")), 0444U);
  EXPECT_EQ(modeOf(m.at("meta-data/iam/info")), 0444U);
}

TEST(Clouds, AwsValuesAreRefreshedOnTheirTtl) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::aws));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"ttl=1"});
  EXPECT_EQ(readFile(m.at("meta-data/instance-action")), "none\n");
  ASSERT_TRUE(emulator.setData("/latest/meta-data/instance-action", "\"stop\"").ok());
  EXPECT_TRUE(waitFor([&] { return readFile(m.at("meta-data/instance-action")) == "stop\n"; }, 5s));
  // A new name in a listing appears within its TTL too.
  ASSERT_TRUE(emulator.setData("/latest/meta-data/new-fact", "\"42\"").ok());
  EXPECT_TRUE(waitFor([&] { return readFile(m.at("meta-data/new-fact")) == "42\n"; }, 5s));
}

TEST(Clouds, AwsSessionTokenExpiresAndIsRenewed) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::aws));
  ASSERT_TRUE(emulator.start().ok());
  emulator.setTokenLifetimes(Seconds(2), Seconds(3600));
  Mount m(emulator, {"ttl=1"});
  int err = 0;
  EXPECT_EQ(readFile(m.at("meta-data/instance-id"), &err), "i-0a1b2c3d4e5f67890\n");
  EXPECT_EQ(emulator.requests("PUT", "/latest/api/token"), 1U);
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(readFile(m.at("meta-data/instance-id"), &err), "i-0a1b2c3d4e5f67890\n");
    EXPECT_EQ(err, 0);
  }
  EXPECT_GE(emulator.requests("PUT", "/latest/api/token"), 2U) << "renewed ahead of expiry";
  // A token the service forgot: 401, one new token, the read succeeds.
  emulator.expireAllTokens();
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(readFile(m.at("meta-data/instance-id"), &err), "i-0a1b2c3d4e5f67890\n");
  EXPECT_EQ(err, 0);
}

TEST(Clouds, AwsHungServiceNeverHangsAReader) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::aws));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"timeout=2", "ttl=1"});
  EXPECT_EQ(readFile(m.at("meta-data/instance-id")), "i-0a1b2c3d4e5f67890\n");
  emu::Fault hang;
  hang.kind = emu::Fault::Kind::hang;
  emulator.addFault(hang);
  const auto start = std::chrono::steady_clock::now();
  int err = 0;
  (void)readFile(m.at("meta-data/placement/region"), &err);
  EXPECT_NE(err, 0) << "never fetched, so an error";
  // The copy already held is served stale.
  EXPECT_EQ(readFile(m.at("meta-data/instance-id"), &err), "i-0a1b2c3d4e5f67890\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 12s);
  emulator.clearFaults();
}

TEST(Clouds, AwsTokenForbiddenFailsFast) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::aws));
  ASSERT_TRUE(emulator.start().ok());
  emu::Fault off;
  off.kind = emu::Fault::Kind::status;
  off.status = 403;
  off.method = "PUT";
  off.path = "/latest/api/token";
  emulator.addFault(off);
  Mount m(emulator, {"timeout=3"});
  const auto start = std::chrono::steady_clock::now();
  int err = 0;
  (void)readFile(m.at("meta-data/instance-id"), &err);
  EXPECT_EQ(err, EACCES);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

// -o ipv6 only changes the default endpoint (unit-tested); endpoint= still names the service.
TEST(Clouds, AwsIpv6KeepsTheGivenEndpoint) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::aws));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"ipv6"});
  int err = 0;
  EXPECT_EQ(readFile(m.at("meta-data/instance-id"), &err), "i-0a1b2c3d4e5f67890\n");
  EXPECT_EQ(err, 0);
  EXPECT_NE(m.log().find("from " + emulator.url()), std::string::npos) << m.log();
}

// IMDSv1 (issue 16): with the token PUT refused, GETs without a token are sent only when
// aws_imdsv1 allows them; otherwise the read fails, and the log says why.
class AwsTokenRefused : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(emulator_.start().ok());
    emulator_.setAwsImdsV1Allowed(true);  // the service would answer tokenless GETs
    emu::Fault refused;
    refused.kind = emu::Fault::Kind::status;
    refused.status = 403;
    refused.method = "PUT";
    refused.path = "/latest/api/token";
    emulator_.addFault(refused);
  }
  emu::Emulator emulator_{cloudOptions(emu::Cloud::aws)};
};

TEST_F(AwsTokenRefused, Imdsv1FallbackWhenAllowed) {
  Mount m(emulator_, {"aws_imdsv1", "timeout=3"});
  int err = 0;
  EXPECT_EQ(readFile(m.at("meta-data/instance-id"), &err), "i-0a1b2c3d4e5f67890\n");
  EXPECT_EQ(err, 0);
  EXPECT_GE(emulator_.requests("PUT", "/latest/api/token"), 1U) << "IMDSv2 is tried first";
  EXPECT_EQ(emulator_.requests("GET", "/latest/meta-data/instance-id"), 1U);
  EXPECT_NE(m.log().find("IMDSv1 allowed"), std::string::npos) << m.log();
}

TEST_F(AwsTokenRefused, NoTokenlessGetWithoutTheOption) {
  Mount m(emulator_, {"timeout=3"});
  int err = 0;
  (void)readFile(m.at("meta-data/instance-id"), &err);
  EXPECT_EQ(err, EACCES);
  EXPECT_EQ(emulator_.requests("GET", "/latest/meta-data/instance-id"), 0U)
      << "never without a token unless aws_imdsv1 is given";
  EXPECT_TRUE(
      waitFor([&] { return m.log().find("IMDSv2 token request") != std::string::npos; }, 3s))
      << m.log();
  EXPECT_NE(m.log().find("HTTP 403"), std::string::npos) << m.log();
}

TEST(Clouds, GcpTreeMatchesTheScenarioWithNumbersAsSent) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::gcp));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"ttl=3600"});
  ASSERT_TRUE(m.mounted());
  EXPECT_EQ(emulator.totalRequests(), 0U);
  expectTreeMatchesScenario(emulator, m, "/computeMetadata/v1/",
                            {"instance/attributes/user-data", "instance/attributes/startup-script",
                             "project/attributes/startup-script"});
  expectEachGetOnce(emulator);
  std::cout << "gcp: full walk = " << emulator.totalRequests() << " requests\n";
  EXPECT_EQ(readFile(m.at("instance/id")), "4520031799277581759\n");
}

TEST(Clouds, GcpSecretsTokenAndIdentity) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::gcp));
  ASSERT_TRUE(emulator.start().ok());
  {
    Mount m(emulator);
    EXPECT_EQ(modeOf(m.at("instance/attributes/user-data")), 0400U);
    EXPECT_EQ(modeOf(m.at("instance/attributes/startup-script")), 0400U);
    EXPECT_EQ(modeOf(m.at("instance/service-accounts/default/token")), 0400U);
    EXPECT_EQ(modeOf(m.at("instance/hostname")), 0444U);
    rapidjson::Document token;
    const std::string json = readFile(m.at("instance/service-accounts/default/token"));
    token.Parse(json.c_str());
    ASSERT_TRUE(token.IsObject()) << json;
    EXPECT_TRUE(token.HasMember("access_token"));
    EXPECT_GT(token["expires_in"].GetInt(), 60);
    // Without an audience, no identity is listed: a listed name must be readable.
    auto ls = run("ls " + quote(m.at("instance/service-accounts/default")));
    EXPECT_EQ(ls.out.find("identity"), std::string::npos) << ls.out;
    EXPECT_NE(ls.out.find("token"), std::string::npos) << ls.out;
  }
  Mount m(emulator, {"gcp_audience=https://example.com/api"});
  EXPECT_EQ(modeOf(m.at("instance/service-accounts/default/identity")), 0400U);
  int err = 0;
  const std::string jwt = readFile(m.at("instance/service-accounts/default/identity"), &err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(std::count(jwt.begin(), jwt.end(), '.'), 2) << jwt;
}

TEST(Clouds, GcpAnswerWithoutMetadataFlavorIsRefused) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::gcp));
  ASSERT_TRUE(emulator.start().ok());
  emu::Fault impostor;
  impostor.kind = emu::Fault::Kind::impostor;
  emulator.addFault(impostor);
  Mount m(emulator, {"timeout=2"});
  int err = 0;
  (void)readFile(m.at("instance/hostname"), &err);
  EXPECT_NE(err, 0);
  emulator.clearFaults();
  EXPECT_TRUE(waitFor([&] {
    return readFile(m.at("instance/hostname")) ==
           "mdfs-test-1.europe-west1-b.c.mdfs-demo-project.internal\n";
  }));
}

// GCE watching (issue 16): a poller of a GCE file is woken by the service's own
// wait_for_change, not by refetches on the TTL.
class GcpWatch : public ::testing::Test {
 protected:
  static constexpr const char* kHostname = "/computeMetadata/v1/instance/hostname";
  struct Woken {
    short revents = 0;
    std::chrono::steady_clock::time_point at;
  };
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
  }
  // Opens and reads the mount's instance/hostname, as a sysfs reader holds it.
  std::string openHostname(const Mount& m) {
    fd_ = open(m.at("instance/hostname").c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd_, 0);
    return reread();
  }
  std::string reread() const {
    std::string out;
    char buf[4096];
    lseek(fd_, 0, SEEK_SET);
    ssize_t n = 0;
    while ((n = read(fd_, buf, sizeof buf)) > 0)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  Woken pollPri(std::chrono::milliseconds limit) const {
    pollfd p{fd_, POLLPRI, 0};
    const int n = poll(&p, 1, static_cast<int>(limit.count()));
    return {static_cast<short>(n > 0 ? p.revents : 0), std::chrono::steady_clock::now()};
  }
  std::uint64_t longPolls() const {
    return emulator_.requests("GET", std::string(kHostname) + "?wait_for_change");
  }

  emu::Emulator emulator_{cloudOptions(emu::Cloud::gcp)};
  int fd_ = -1;
};

TEST_F(GcpWatch, PollWakesWithinASecondOfAChangeWithALongTtl) {
  Mount m(emulator_, {"ttl=300"});
  EXPECT_EQ(openHostname(m), "mdfs-test-1.europe-west1-b.c.mdfs-demo-project.internal\n");
  EXPECT_EQ(pollPri(2000ms).revents, 0) << "nothing changed";
  EXPECT_TRUE(waitFor([&] { return longPolls() >= 1; }, 5s)) << "a long poll is held";
  auto woken = std::async(std::launch::async, [this] { return pollPri(10000ms); });
  std::this_thread::sleep_for(300ms);
  const auto changed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(emulator_.setData(kHostname, "\"renamed.example.internal\"").ok());
  const Woken w = woken.get();
  EXPECT_EQ(w.revents & (POLLPRI | POLLERR), POLLPRI | POLLERR);
  EXPECT_LT(w.at - changed_at, 1500ms) << "woken by the long poll, not a 300 s TTL";
  EXPECT_EQ(reread(), "renamed.example.internal\n");
  EXPECT_EQ(emulator_.requests("GET", kHostname), 1U)
      << "the first read only: the change came through wait_for_change";
  EXPECT_GE(longPolls(), 1U);
  // A stop with a long poll held is as fast as any (the transport ends it).
  auto held = std::async(std::launch::async, [this] { return pollPri(10000ms); });
  std::this_thread::sleep_for(500ms);
  const auto stop_at = std::chrono::steady_clock::now();
  EXPECT_EQ(m.stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, 4s);
  (void)held.get();
}

TEST_F(GcpWatch, LongPollsEndWithTheLastPoller) {
  Mount m(emulator_, {"ttl=1"});
  (void)openHostname(m);
  EXPECT_EQ(pollPri(2500ms).revents, 0) << "long polls answered unchanged wake nobody";
  EXPECT_GE(longPolls(), 1U);
  EXPECT_EQ(emulator_.requests("GET", kHostname), 1U) << "no refetch on the 1 s TTL";
  close(fd_);
  fd_ = -1;
  // The poller is dropped at the first wake-up it leaves unanswered, then the wait ends.
  std::this_thread::sleep_for(4s);
  const std::uint64_t after = longPolls();
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(longPolls(), after) << "no long poll without a poller";
}

TEST(Clouds, AzureTreeSecretsAndIdentityToken) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::azure));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"azure_resource=https://management.azure.com/"});
  ASSERT_TRUE(m.mounted());
  EXPECT_EQ(emulator.totalRequests(), 0U);
  EXPECT_EQ(readFile(m.at("instance/compute/vmId")), "5c08b38e-4d57-4c23-ac45-aca61037f084\n");
  EXPECT_EQ(readFile(m.at("instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress")),
            "10.1.0.4\n");
  EXPECT_EQ(modeOf(m.at("instance/compute/userData")), 0400U);
  EXPECT_EQ(modeOf(m.at("identity/oauth2/token")), 0400U);
  rapidjson::Document token;
  const std::string json = readFile(m.at("identity/oauth2/token"));
  token.Parse(json.c_str());
  ASSERT_TRUE(token.IsObject()) << json;
  EXPECT_TRUE(token.HasMember("access_token"));
  EXPECT_EQ(emulator.requests("GET", "/metadata/instance"), 1U);
}

TEST(Clouds, AzureUpdatingIsRetried) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::azure));
  ASSERT_TRUE(emulator.start().ok());
  emu::Fault updating;
  updating.kind = emu::Fault::Kind::status;
  updating.status = 410;
  updating.count = 2;
  emulator.addFault(updating);
  Mount m(emulator, {"timeout=8"});
  int err = 0;
  EXPECT_EQ(readFile(m.at("instance/compute/vmSize"), &err), "Standard_D2s_v5\n");
  EXPECT_EQ(err, 0);
}

// 410 for a while (issue 16): readers get the copy they had at once, the refetch goes on
// in the background with backoff, and the new data arrives once IMDS is back.
TEST(Clouds, AzureUpdatingServesStaleWhileRetryingInTheBackground) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::azure));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator, {"ttl=1", "timeout=2"});
  const std::string vm_size = m.at("instance/compute/vmSize");
  int err = 0;
  EXPECT_EQ(readFile(vm_size, &err), "Standard_D2s_v5\n");
  emu::Fault updating;
  updating.kind = emu::Fault::Kind::status;
  updating.status = 410;
  updating.path = "/metadata/instance*";
  emulator.addFault(updating);
  ASSERT_TRUE(emulator.setData("/metadata/instance/compute/vmSize", "\"Standard_D4s_v5\"").ok());
  std::this_thread::sleep_for(1200ms);  // past the TTL
  for (int i = 0; i < 6; ++i) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(readFile(vm_size, &err), "Standard_D2s_v5\n") << "the stale copy";
    EXPECT_EQ(err, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms) << "never past timeout=";
    std::this_thread::sleep_for(500ms);
  }
  const std::uint64_t during = emulator.requests("GET", "/metadata/instance");
  EXPECT_GE(during, 4U) << "retried meanwhile";
  // Nobody reads from now on: the refetch under way goes on by itself.
  std::this_thread::sleep_for(2s);
  emulator.clearFaults();
  std::this_thread::sleep_for(10s);  // backoff is at most 8 s
  const std::uint64_t after = emulator.requests("GET", "/metadata/instance");
  EXPECT_GT(after, during) << "the refetch under way went on";
  EXPECT_EQ(readFile(vm_size, &err), "Standard_D4s_v5\n")
      << "the background refetch brought the new data once IMDS was back (a failing copy "
         "would be served stale)\n"
      << m.log();
}

// Without data to serve, a reader waits for its own timeout= only, not IMDS's 70 s.
TEST(Clouds, AzureUpdatingWithoutDataFailsWithinTheTimeout) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::azure));
  ASSERT_TRUE(emulator.start().ok());
  emu::Fault updating;
  updating.kind = emu::Fault::Kind::status;
  updating.status = 410;
  emulator.addFault(updating);
  Mount m(emulator, {"timeout=2"});
  const auto start = std::chrono::steady_clock::now();
  int err = 0;
  (void)readFile(m.at("instance/compute/vmSize"), &err);
  EXPECT_NE(err, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3500ms);
  EXPECT_GE(emulator.requests("GET", "/metadata/instance"), 2U) << "retried within it";
  emulator.clearFaults();
}

struct WellKnownCase {
  emu::Cloud cloud;
  std::map<std::string, std::string> values;
};

class CloudWellKnown : public ::testing::TestWithParam<WellKnownCase> {};

TEST_P(CloudWellKnown, ValuesFromTheCloudsOwnSources) {
  emu::Emulator emulator(cloudOptions(GetParam().cloud));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator);
  for (const auto& [name, value] : GetParam().values) {
    int err = 0;
    EXPECT_EQ(readFile(m.at("well-known/" + name), &err), value.empty() ? "" : value + "\n")
        << name;
    EXPECT_EQ(err, value.empty() ? ENOENT : 0) << name;
  }
  EXPECT_EQ(modeOf(m.at("well-known/userdata")), 0400U);
  const std::string keys = readFile(m.at("well-known/ssh-key"));
  EXPECT_NE(
      keys.find("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFLyJmWmDBLSiRhdlQ7ogTYJFm9rET0XjWwP05Af8jmh"),
      std::string::npos);
  EXPECT_EQ(keys.find("alice:"), std::string::npos) << "GCE's user: prefixes are removed";
  rapidjson::Document doc;
  const std::string json = readFile(m.at("well-known.json"));
  doc.Parse(json.c_str());
  ASSERT_TRUE(doc.IsObject()) << json;
  EXPECT_FALSE(doc.HasMember("userdata"));
}

INSTANTIATE_TEST_SUITE_P(
    Clouds, CloudWellKnown,
    ::testing::Values(WellKnownCase{emu::Cloud::aws,
                                    {{"cloud", "aws"},
                                     {"instance-id", "i-0a1b2c3d4e5f67890"},
                                     {"hostname", "ip-10-0-1-23.eu-west-1.compute.internal"},
                                     {"instance-type", "m7g.large"},
                                     {"zone", "eu-west-1a"},
                                     {"region", "eu-west-1"},
                                     {"image-id", "ami-0c7217cdde317cfec"},
                                     {"vpc-id", "vpc-0a1b2c3d4e5f60718"},
                                     {"ipv4-private", "10.0.1.23"},
                                     {"ipv4-public", "203.0.113.25"}}},
                      WellKnownCase{
                          emu::Cloud::gcp,
                          {{"cloud", "gcp"},
                           {"instance-id", "4520031799277581759"},
                           {"hostname", "mdfs-test-1.europe-west1-b.c.mdfs-demo-project.internal"},
                           {"instance-type", "e2-standard-2"},
                           {"zone", "europe-west1-b"},
                           {"region", "europe-west1"},
                           {"vpc-id", "default"},
                           {"ipv4-private", "10.132.0.7"},
                           {"ipv4-public", "34.78.112.45"}}},
                      WellKnownCase{emu::Cloud::azure,
                                    {{"cloud", "azure"},
                                     {"instance-id", "5c08b38e-4d57-4c23-ac45-aca61037f084"},
                                     {"hostname", "mdfs-test-vm"},
                                     {"instance-type", "Standard_D2s_v5"},
                                     {"region", "westeurope"},
                                     {"zone", "1"},
                                     {"vpc-id", ""},
                                     {"ipv4-private", "10.1.0.4"},
                                     {"ipv4-public", "20.61.15.9"}}}));

TEST(Clouds, GcpProjectKeysAreLeftOutWhenBlocked) {
  emu::Emulator emulator(cloudOptions(emu::Cloud::gcp));
  ASSERT_TRUE(emulator.start().ok());
  ASSERT_TRUE(
      emulator.setData("/computeMetadata/v1/instance/attributes/block-project-ssh-keys", "\"TRUE\"")
          .ok());
  Mount m(emulator);
  const std::string keys = readFile(m.at("well-known/ssh-key"));
  EXPECT_NE(keys.find("alice@laptop"), std::string::npos);
  EXPECT_EQ(keys.find("carol@ops"), std::string::npos) << keys;
}

struct AutoCase {
  std::string dmi;
  emu::Cloud cloud;
  std::string file;
};

class CloudAuto : public ::testing::TestWithParam<AutoCase> {};

TEST_P(CloudAuto, DetectsTheCloudFromDmi) {
  emu::Emulator emulator(cloudOptions(GetParam().cloud));
  ASSERT_TRUE(emulator.start().ok());
  Mount m(emulator,
          {"cloud=auto", "dmi_dir=" + sourceDir() + "/tests/emulator/dmi/" + GetParam().dmi});
  ASSERT_TRUE(m.mounted());
  int err = 0;
  EXPECT_FALSE(readFile(m.at(GetParam().file), &err).empty());
  EXPECT_EQ(err, 0);
  rapidjson::Document status;
  const std::string json = readFile(m.at(".status"));
  status.Parse(json.c_str());
  ASSERT_TRUE(status.IsObject()) << json;
  EXPECT_EQ(std::string(status["cloud"].GetString()), emu::cloudName(GetParam().cloud));
  EXPECT_FALSE(std::string(status["cloud_reason"].GetString()).empty());
  EXPECT_NE(m.log().find("cloud " + std::string(emu::cloudName(GetParam().cloud))),
            std::string::npos)
      << m.log();
}

INSTANTIATE_TEST_SUITE_P(
    Clouds, CloudAuto,
    ::testing::Values(AutoCase{"aws-nitro", emu::Cloud::aws, "meta-data/instance-id"},
                      AutoCase{"aws-xen", emu::Cloud::aws, "meta-data/instance-id"},
                      AutoCase{"gcp", emu::Cloud::gcp, "instance/hostname"},
                      AutoCase{"azure", emu::Cloud::azure, "instance/compute/vmId"},
                      AutoCase{"unknown", emu::Cloud::ibm, "instance/name"}));

}  // namespace
}  // namespace mdfs::itest
