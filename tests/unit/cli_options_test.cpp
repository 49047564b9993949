#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli/options.h"
#include "files/identity_files.h"

namespace mdfs::cli {
namespace {

Result<Config> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "metadatafs");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

TEST(Options, DefaultsMatchTheDocumentation) {
  auto c = parse({"/metadata"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->mountpoint, "/metadata");
  EXPECT_EQ(c->source, "metadatafs");
  EXPECT_EQ(c->endpoint, "http://api.metadata.cloud.ibm.com");
  EXPECT_EQ(c->api_version, "2025-08-26");
  EXPECT_EQ(c->ttl, Seconds(60));
  EXPECT_EQ(c->token_ttl, 300);
  EXPECT_EQ(c->timeout, Seconds(10));
  EXPECT_EQ(c->max_stale, Seconds(3600));
  EXPECT_TRUE(c->newline);
  EXPECT_FALSE(c->foreground);
  EXPECT_FALSE(c->identity);
  EXPECT_EQ(c->mountOptions(),
            "ro,default_permissions,nosuid,nodev,fsname=metadatafs,subtype=metadatafs");
}

TEST(Options, MountHelperConventionAndIgnoredMountFlags) {
  // mount.fuse3 runs: metadatafs SOURCE MOUNTPOINT -o OPTIONS
  auto c = parse({"metadatafs", "/metadata", "-o",
                  "rw,dev,suid,_netdev,nofail,noauto,x-systemd.automount,allow_other,ttl=30"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->source, "metadatafs");
  EXPECT_EQ(c->mountpoint, "/metadata");
  EXPECT_EQ(c->ttl, Seconds(30));
  EXPECT_EQ(c->mountOptions(),
            "ro,default_permissions,nosuid,nodev,fsname=metadatafs,subtype=metadatafs,allow_other");
}

TEST(Options, PerEndpointTtlAndFlags) {
  auto c = parse({"/m", "-f", "-o", "ttl.instance.network_interfaces=5", "-o",
                  "ttl.keys=300,newline=0,identity,trusted_profile=crn:v1:x"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->foreground);
  EXPECT_EQ(c->ttl_overrides.at("instance/network_interfaces"), Seconds(5));
  EXPECT_EQ(c->ttl_overrides.at("keys"), Seconds(300));
  EXPECT_FALSE(c->newline);
  EXPECT_TRUE(c->identity);
  EXPECT_EQ(service::parseTrustedProfile(c->trusted_profile).by, service::TrustedProfile::By::crn);
  EXPECT_EQ(service::parseTrustedProfile("default").by,
            service::TrustedProfile::By::default_profile);
  EXPECT_EQ(service::parseTrustedProfile("Profile-1").by, service::TrustedProfile::By::id);
  auto d = parse({"/m", "-d"});
  EXPECT_TRUE(d->debug && d->foreground);
}

TEST(Options, HostIsPinnedToTheLinkLocalAddressUnlessResolveSaysOtherwise) {
  EXPECT_EQ(parse({"/m"})->effectiveResolve(),
            std::vector<std::string>{"api.metadata.cloud.ibm.com:80:169.254.169.254"});
  EXPECT_EQ(parse({"/m", "-o", "endpoint=https://api.metadata.cloud.ibm.com"})->effectiveResolve(),
            std::vector<std::string>{"api.metadata.cloud.ibm.com:443:169.254.169.254"});
  auto custom = parse({"/m", "-o",
                       "endpoint=https://api.metadata.cloud.ibm.com:8443/,"
                       "resolve=api.metadata.cloud.ibm.com:8443:127.0.0.1"});
  ASSERT_TRUE(custom.ok()) << custom.error().message;
  EXPECT_EQ(custom->endpoint, "https://api.metadata.cloud.ibm.com:8443");
  EXPECT_EQ(custom->effectiveResolve(),
            std::vector<std::string>{"api.metadata.cloud.ibm.com:8443:127.0.0.1"});
  EXPECT_TRUE(parse({"/m", "-o", "endpoint=http://127.0.0.1:8080"})->effectiveResolve().empty());
}

TEST(Options, ConfigFileSitsBetweenDefaultsAndTheCommandLine) {
  char path[] = "/tmp/mdfs-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "# metadatafs settings\n"
                         "ttl = 120\n"
                         "token_ttl=600\n"
                         "\n"
                         "allow_other\n";
  auto c = parse({"/m", "-o", std::string("config=") + path + ",ttl=15"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->ttl, Seconds(15));  // the command line wins
  EXPECT_EQ(c->token_ttl, 600);    // the file beats the default
  EXPECT_NE(c->mountOptions().find("allow_other"), std::string::npos);
  std::ofstream(path) << "ttl=soon\n";
  auto bad = parse({"/m", "-o", std::string("config=") + path});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("ttl"), std::string::npos);
  unlink(path);
  auto missing = parse({"/m", "-o", "config=/nonexistent/metadatafs.conf"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/metadatafs.conf"), std::string::npos);
}

TEST(Options, RefusalsNameTheOptionAndWhatItAccepts) {
  struct Case {
    std::vector<std::string> args;
    const char* mentions;
  };
  for (const auto& c : std::vector<Case>{
           {{"/m", "-o", "ttl=abc"}, "ttl"},
           {{"/m", "-o", "token_ttl=9999"}, "5..3600"},
           {{"/m", "-o", "api_version=2021-09-30"}, "2022-03-01"},
           {{"/m", "-o", "api_version=26-08-2025"}, "YYYY-MM-DD"},
           {{"/m", "-o", "endpoint=http://host/path"}, "no path"},
           {{"/m", "-o", "max_threads=0"}, "max_threads"},
           {{"/m", "-o", "bogus"}, "unknown option 'bogus'"},
           {{"/m", "--frobnicate"}, "unknown flag"},
           {{"a", "b", "c"}, "too many arguments"},
           {{"-f"}, "no mountpoint"},
       }) {
    auto r = parse(c.args);
    ASSERT_FALSE(r.ok()) << c.args.back();
    EXPECT_NE(r.error().message.find(c.mentions), std::string::npos) << r.error().message;
  }
}

TEST(Options, HelpAndVersionNeedNoMountpoint) {
  EXPECT_TRUE(parse({"--help"})->show_help);
  EXPECT_TRUE(parse({"-V"})->show_version);
  EXPECT_NE(versionText().find("libfuse"), std::string::npos);
}

TEST(IdentityFiles, MinimumLifeLeft) {
  service::IssuedToken t;
  t.obtained = SteadyTime{};
  t.expiry = t.obtained + Seconds(300);
  EXPECT_EQ(files::minimumLifeLeft(t), Millis(60000));
  t.expiry = t.obtained + Seconds(3600);
  EXPECT_EQ(files::minimumLifeLeft(t), Millis(60000));
  t.expiry = t.obtained + Seconds(30);
  EXPECT_EQ(files::minimumLifeLeft(t), Millis(6000));
}

}  // namespace
}  // namespace mdfs::cli
