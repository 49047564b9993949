// Secure access (issue 6): https://api.metadata.cloud.ibm.com with verification, the
// emulator's private CA through cacert=, and the host pinned through resolve=.
#include <gtest/gtest.h>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

emu::Options tls() {
  emu::Options o;
  o.https = true;
  return o;
}

std::vector<std::string> secureOptions(const emu::Emulator& e, const std::string& ca) {
  std::string port = std::to_string(e.port());
  return {"endpoint=https://api.metadata.cloud.ibm.com:" + port,
          "resolve=api.metadata.cloud.ibm.com:" + port + ":127.0.0.1", "cacert=" + ca};
}

TEST(Https, FullWalkOverVerifiedTls) {
  emu::Emulator emulator(tls());
  ASSERT_TRUE(emulator.start().ok());
  ASSERT_FALSE(emulator.caCertPath().empty());
  Mount m(emulator, secureOptions(emulator, emulator.caCertPath()));
  ASSERT_TRUE(m.mounted());
  auto walk = run("find " + quote(m.path()) + " -type f -exec cat {} + | wc -c");
  ASSERT_EQ(walk.status, 0) << walk.err;
  EXPECT_GT(std::stol(walk.out), 10000);
  EXPECT_EQ(readFile(m.at("instance/name")), "web-frontend-01\n");
  EXPECT_EQ(emulator.requests("PUT", "/identity/v1/token"), 1U);
  EXPECT_EQ(emulator.totalRequests(), 10U) << "1 token + 9 endpoints";
}

TEST(Https, WrongCaFailsWithAClearLogLineAndNoFallback) {
  emu::Emulator emulator(tls());
  ASSERT_TRUE(emulator.start().ok());
  emu::Emulator stranger(tls());  // another private CA
  ASSERT_TRUE(stranger.start().ok());
  Mount m(emulator, secureOptions(emulator, stranger.caCertPath()));
  int err = 0;
  readFile(m.at("instance/name"), &err);
  EXPECT_EQ(err, EIO);
  std::string log = m.log();
  EXPECT_NE(log.find("certificate"), std::string::npos) << log;
  EXPECT_NE(log.find("https://api.metadata.cloud.ibm.com"), std::string::npos) << log;
  EXPECT_EQ(emulator.totalRequests(), 0U) << "nothing was sent, over TLS or otherwise";
}

TEST(Https, TokenFilesOverTls) {
  emu::Emulator emulator(tls());
  ASSERT_TRUE(emulator.start().ok());
  auto opts = secureOptions(emulator, emulator.caCertPath());
  opts.emplace_back("trusted_profile=default");
  Mount m(emulator, opts);
  EXPECT_TRUE(emulator.iamTokenValid(readFile(m.at("identity/iam_token"))));
}

}  // namespace
}  // namespace mdfs::itest
