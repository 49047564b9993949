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

// Issue 16: -o ipv6 picks IMDS's IPv6 address on AWS (only there), and endpoint= wins.
TEST(Options, Ipv6ChoosesAwsIpv6EndpointUnlessEndpointIsGiven) {
  auto aws6 = parse({"/m", "-o", "cloud=aws,ipv6"});
  ASSERT_TRUE(aws6.ok());
  EXPECT_EQ(aws6->resolveCloud().cloud, service::Cloud::aws);
  EXPECT_EQ(aws6->endpoint, "http://[fd00:ec2::254]");
  EXPECT_TRUE(aws6->effectiveResolve().empty()) << "an address: nothing to pin";
  auto aws4 = parse({"/m", "-o", "cloud=aws"});
  ASSERT_TRUE(aws4.ok());
  (void)aws4->resolveCloud();
  EXPECT_EQ(aws4->endpoint, "http://169.254.169.254");
  auto given = parse({"/m", "-o", "cloud=aws,ipv6,endpoint=http://127.0.0.1:8080"});
  ASSERT_TRUE(given.ok());
  (void)given->resolveCloud();
  EXPECT_EQ(given->endpoint, "http://127.0.0.1:8080");
  auto azure6 = parse({"/m", "-o", "cloud=azure,ipv6"});
  ASSERT_TRUE(azure6.ok());
  (void)azure6->resolveCloud();
  EXPECT_EQ(azure6->endpoint, "http://169.254.169.254") << "only AWS serves IMDS over IPv6";
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

TEST(Options, HostilePinningGoesThroughTheServiceRule) {
  // The production path (Config::effectiveResolve) pins IBM's host and nothing that merely
  // resembles it.
  for (const char* endpoint : {"http://api.metadata.cloud.ibm.com.evil.example",
                               "http://evil.example", "http://169.254.169.254"}) {
    auto c = parse({"/m", "-o", std::string("endpoint=") + endpoint});
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(c->effectiveResolve().empty()) << endpoint;
  }
  for (const char* endpoint : {"http://api.metadata.cloud.ibm.com@evil.example",
                               "http://api.metadata.cloud.ibm.com/evil", "http://a b"}) {
    EXPECT_FALSE(parse({"/m", "-o", std::string("endpoint=") + endpoint}).ok()) << endpoint;
  }
}

TEST(Options, UnknownOptionsSuggestTheClosestKnownOne) {
  auto typo = parse({"/m", "-o", "tll=5"});
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("unknown option 'tll=5'; did you mean 'ttl=5'?"),
            std::string::npos)
      << typo.error().message;
  auto path = parse({"/m", "-o", "ttl.instance.network_interface=5"});
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.error().message.find("did you mean ttl.instance.network_interfaces?"),
            std::string::npos)
      << path.error().message;
  auto far = parse({"/m", "-o", "frobnicate"});
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.error().message.find("did you mean"), std::string::npos) << far.error().message;
}

TEST(Options, EveryConfigFileErrorNamesTheFileAndTheLine) {
  char path[] = "/tmp/mdfs-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  struct Case {
    const char* text;
    const char* mentions;
  };
  for (const Case& c :
       {Case{"ttl=5\n# note\nttl=soon\n", ":3: bad value for ttl: 'soon'"},
        Case{"\n\ntll=5\n", ":3: unknown option 'tll=5'; did you mean 'ttl=5'?"},
        Case{"=5\n", ":1: expected key=value"}, Case{"config=/etc/other.conf\n", ":1: config"},
        Case{"endpoint=ftp://x\n", ":1: bad value for endpoint"},
        Case{"newline=2\n", ":1: bad value for newline"}}) {
    std::ofstream(path) << c.text;
    auto r = parse({"/m", "-o", std::string("config=") + path});
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().message.rfind(path + std::string(c.mentions), 0), 0U) << r.error().message;
  }
  // The same mistake on the command line has no FILE:LINE.
  auto cmdline = parse({"/m", "-o", "ttl=soon"});
  ASSERT_FALSE(cmdline.ok());
  EXPECT_EQ(cmdline.error().message.rfind("bad value for ttl", 0), 0U) << cmdline.error().message;
  unlink(path);
}

TEST(Options, DebugHttpImpliesDebugWhichImpliesForeground) {
  auto c = parse({"/m", "-o", "debug_http"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->debug_http && c->debug && c->foreground);
  auto d = parse({"/m", "-o", "debug"});
  EXPECT_TRUE(d->debug && d->foreground && !d->debug_http);
  auto r = parse({"/m", "-o", "recover"});
  EXPECT_TRUE(r->recover && !r->foreground);
  EXPECT_FALSE(parse({"/m"})->recover);
}

TEST(Options, AFutureApiVersionIsAcceptedWithAWarning) {
  EXPECT_EQ(futureVersionWarning("2025-08-26", "2026-01-01"), std::nullopt);
  EXPECT_EQ(futureVersionWarning("2026-01-01", "2026-01-01"), std::nullopt);
  auto w = futureVersionWarning("2026-01-02", "2026-01-01");
  ASSERT_TRUE(w.has_value());
  EXPECT_NE(w->find("api_version 2026-01-02 is later than today (2026-01-01"), std::string::npos)
      << *w;
  auto c = parse({"/m", "-o", "api_version=9999-12-31"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->warnings.size(), 1U);
  EXPECT_NE(c->warnings[0].find("9999-12-31"), std::string::npos);
  EXPECT_TRUE(parse({"/m"})->warnings.empty());
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
