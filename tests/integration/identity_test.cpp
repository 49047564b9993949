// identity/token and identity/iam_token (issue 6): always valid, byte-exact, 0400.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <thread>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;

// The status of GET <url> with a bearer token, through curl as a script would do it.
int curlStatus(const std::string& url, const std::string& token_file) {
  auto r = run("curl -s -o /dev/null -w '%{http_code}' -H \"Authorization: Bearer $(cat " +
               quote(token_file) + ")\" " + quote(url));
  return r.status == 0 ? std::atoi(r.out.c_str()) : -1;
}

class Identity : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }
  [[nodiscard]] std::string instanceUrl() const {
    return emulator_.url() + "/metadata/v1/instance?version=2025-08-26";
  }
  [[nodiscard]] std::string iamCheckUrl() const { return emulator_.url() + "/_emulator/iam/check"; }
  emu::Emulator emulator_{emu::Options{}};
};

TEST_F(Identity, TokenFilesAreByteExactSecretAndAccepted) {
  Mount m(emulator_, {"identity", "trusted_profile=default"});
  for (const char* rel :
       {"identity/token", "identity/token.json", "identity/iam_token", "identity/iam_token.json"}) {
    struct stat st {};
    ASSERT_EQ(::stat(m.at(rel).c_str(), &st), 0) << rel;
    EXPECT_EQ(st.st_mode & 07777, 0400U) << rel;
    EXPECT_EQ(static_cast<std::size_t>(st.st_size), readFile(m.at(rel)).size()) << rel;
  }
  std::string token = readFile(m.at("identity/token"));
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2) << "a JWT";
  EXPECT_NE(token.back(), '\n') << "no trailing newline";
  std::string iam = readFile(m.at("identity/iam_token"));
  EXPECT_TRUE(emulator_.iamTokenValid(iam));
  EXPECT_EQ(curlStatus(instanceUrl(), m.at("identity/token")), 200);
  EXPECT_EQ(curlStatus(iamCheckUrl(), m.at("identity/iam_token")), 200);

  std::string json = readFile(m.at("identity/iam_token.json"));
  EXPECT_NE(json.find("\"expires_at\""), std::string::npos) << json;
  EXPECT_EQ(json.find(iam), std::string::npos) << "never the token itself";
  EXPECT_EQ(json.find("access_token"), std::string::npos);
  auto ls = run("ls " + quote(m.at("identity")));
  EXPECT_EQ(ls.out, "iam_token\niam_token.json\ntoken\ntoken.json\n");
}

TEST_F(Identity, FilesStayValidAcrossSeveralTokenLifetimes) {
  emulator_.setTokenLifetimes(Seconds(6), Seconds(6));
  Mount m(emulator_, {"identity", "trusted_profile=default", "token_ttl=6"});
  std::set<std::string> identity_tokens;
  std::set<std::string> iam_tokens;
  auto end = std::chrono::steady_clock::now() + 13s;
  int reads = 0;
  while (std::chrono::steady_clock::now() < end) {
    EXPECT_EQ(curlStatus(instanceUrl(), m.at("identity/token")), 200) << "read " << reads;
    EXPECT_EQ(curlStatus(iamCheckUrl(), m.at("identity/iam_token")), 200) << "read " << reads;
    identity_tokens.insert(readFile(m.at("identity/token")));
    iam_tokens.insert(readFile(m.at("identity/iam_token")));
    ++reads;
    std::this_thread::sleep_for(400ms);
  }
  // 13 s of 6 s tokens: several renewals, and never an expired token in a reader's hands.
  EXPECT_GE(identity_tokens.size(), 3U);
  EXPECT_GE(iam_tokens.size(), 3U);
  EXPECT_GE(reads, 12);
}

TEST_F(Identity, OtherUsersGetEaccesOnTokensYetReadMetadata) {
  Mount m(emulator_, {"identity", "trusted_profile=default", "allow_other"});
  auto token = run("runuser -u nobody -- cat " + quote(m.at("identity/token")));
  EXPECT_NE(token.status, 0);
  EXPECT_NE(token.err.find("Permission denied"), std::string::npos) << token.err;
  auto iam = run("runuser -u nobody -- cat " + quote(m.at("identity/iam_token.json")));
  EXPECT_NE(iam.status, 0);
  EXPECT_NE(iam.err.find("Permission denied"), std::string::npos) << iam.err;
  auto name = run("runuser -u nobody -- cat " + quote(m.at("instance/name")));
  EXPECT_EQ(name.status, 0) << name.err;
  EXPECT_EQ(name.out, "web-frontend-01\n");
}

TEST_F(Identity, UnlinkedProfileIsEaccesWithCodeAndTraceLogged) {
  Mount m(emulator_, {"trusted_profile=Profile-00000000-not-linked"});
  int err = 0;
  readFile(m.at("identity/iam_token"), &err);
  EXPECT_EQ(err, EACCES);
  std::string log = m.log();
  EXPECT_NE(log.find("profile_not_linked"), std::string::npos) << log;
  EXPECT_NE(log.find("trace"), std::string::npos) << log;
}

TEST_F(Identity, MissingDefaultProfileIsEnoentAndTheLogSaysWhy) {
  ASSERT_TRUE(emulator_.deleteData("/initialization/default_trusted_profile").ok());
  Mount m(emulator_, {"trusted_profile=default"});
  int err = 0;
  readFile(m.at("identity/iam_token"), &err);
  EXPECT_EQ(err, ENOENT);
  std::string log = m.log();
  EXPECT_NE(log.find("missing_field"), std::string::npos) << log;
  EXPECT_NE(log.find("identity/iam_token"), std::string::npos) << log;
}

TEST_F(Identity, AbsentUnlessEnabled) {
  Mount m(emulator_);
  struct stat st {};
  EXPECT_NE(::stat(m.at("identity").c_str(), &st), 0);
  EXPECT_EQ(run("ls " + quote(m.path())).out.find("identity"), std::string::npos);
}

}  // namespace
}  // namespace mdfs::itest
