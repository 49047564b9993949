// The well-known facts without a mount: rules over a tree given as a map, the transforms,
// and the .json and .env renderings (issue 15).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>
#include <set>

#include "files/well_known.h"

namespace mdfs::files {
namespace {

using namespace std::chrono_literals;

// A tree as a map: files with their bytes (as the mount renders them: a newline added),
// directories with their names in listing order, and paths whose reading fails.
class FakeTree final : public mount::TreeReader {
 public:
  std::map<std::string, std::string> files;
  std::map<std::string, std::vector<std::string>> dirs;
  std::set<std::string> failing;
  mutable std::vector<std::string> reads;

  Result<std::string> readFile(std::string_view path, Deadline) override {
    reads.emplace_back(path);
    if (failing.count(std::string(path)) != 0) {
      return makeError(ErrorKind::unreachable, "service down");
    }
    auto it = files.find(std::string(path));
    if (it == files.end()) return makeError(ErrorKind::not_found, "no such file");
    return it->second;
  }
  Result<std::vector<std::string>> listDirectory(std::string_view path, Deadline) override {
    auto it = dirs.find(std::string(path));
    if (it == dirs.end()) return makeError(ErrorKind::not_found, "no such directory");
    return it->second;
  }
};

Deadline soon() {
  return deadlineIn(5s);
}

void fillIbmTree(FakeTree& t) {
  t.files["instance/id"] = "0717_abc\n";
  t.files["instance/name"] = "web-01\n";
  t.files["instance/profile/name"] = "bx2-2x8\n";
  t.files["instance/zone/name"] = "us-south-1\n";
  t.files["instance/image/id"] = "r006-img\n";
  t.files["instance/vpc/id"] = "r006-vpc\n";
  t.files["instance/primary_network_interface/id"] = "0717-nic0\n";
  t.files["instance/primary_network_interface/primary_ip/address"] = "10.0.0.4\n";
  t.dirs["instance/network_interfaces/0717-nic0/floating_ips"] = {"r006-fip"};
  t.files["instance/network_interfaces/0717-nic0/floating_ips/r006-fip/address"] = "203.0.113.7\n";
  t.dirs["keys"] = {"by-name", "k1", "k2"};
  t.files["keys/k1/public_key"] = "ssh-ed25519 AAAA one\n";
  t.files["keys/k2/public_key"] = "ssh-rsa BBBB two\n";
  t.files["instance/initialization/user_data"] = "#cloud-config\n";
}

const FactRule& rule(const WellKnownTable& table, const std::string& name) {
  for (const auto& r : table.facts) {
    if (r.name == name) return r;
  }
  throw std::runtime_error("no fact " + name);
}

std::optional<std::string> valueOf(const WellKnown& wk, const WellKnownTable& table,
                                   const std::string& name) {
  auto v = wk.value(rule(table, name), soon());
  EXPECT_TRUE(v.ok()) << name;
  return v.ok() ? v.value() : std::nullopt;
}

TEST(WellKnownTransforms, RegionFromZoneAndLastPathPart) {
  EXPECT_EQ(applyTransform(Transform::drop_last_dash_part, "us-south-1"), "us-south");
  EXPECT_EQ(applyTransform(Transform::drop_last_dash_part, "eu-de-3"), "eu-de");
  EXPECT_EQ(applyTransform(Transform::drop_last_dash_part, "us-central1-a"), "us-central1");
  EXPECT_EQ(applyTransform(Transform::drop_last_dash_part, "zone"), "") << "no region in it";
  EXPECT_EQ(applyTransform(Transform::drop_last_dash_part, "-1"), "");
  EXPECT_EQ(applyTransform(Transform::drop_last_dash_part, "us-south-"), "");
  EXPECT_EQ(applyTransform(Transform::last_path_part, "projects/7/zones/us-central1-a"),
            "us-central1-a");
  EXPECT_EQ(applyTransform(Transform::last_path_part, "plain"), "plain");
  EXPECT_EQ(applyTransform(Transform::none, "as is"), "as is");
  // GCE's zone is a path: its region takes two steps.
  EXPECT_EQ(applyTransforms({Transform::last_path_part, Transform::drop_last_dash_part},
                            "projects/7/zones/us-central1-a"),
            "us-central1");
  EXPECT_EQ(applyTransforms({}, "unchanged"), "unchanged");
}

TEST(WellKnownTransforms, SourcePathsAreStaticPrefixesAndSubstitutedPaths) {
  FactRule r;
  r.paths = {
      "instance/network_interfaces/{instance/primary_network_interface/id}/floating_ips/*/"
      "address",
      "keys/*/public_key", "instance/zone/name"};
  EXPECT_EQ(sourcePaths(r), (std::vector<std::string>{"instance/primary_network_interface/id",
                                                      "instance/network_interfaces", "keys",
                                                      "instance/zone/name"}));
  FactRule constant;
  constant.constant = "ibm";
  EXPECT_TRUE(sourcePaths(constant).empty());
}

TEST(WellKnownEnv, NamesAndQuotingThatShAndSystemdReadAlike) {
  EXPECT_EQ(envName("instance-id"), "METADATA_INSTANCE_ID");
  EXPECT_EQ(envName("ipv4-public"), "METADATA_IPV4_PUBLIC");
  EXPECT_EQ(envQuote("plain"), "\"plain\"");
  EXPECT_EQ(envQuote("a\"b\\c`d$e'f\ng"), "\"a\\\"b\\\\c\\`d\\$e'f\ng\"");
  EXPECT_TRUE(envSafe("tab\tnew\nline é"));
  EXPECT_FALSE(envSafe(std::string("nul\0byte", 8)));
  EXPECT_FALSE(envSafe("\xff\xfe"));
}

TEST(WellKnownEnv, Utf8Validation) {
  EXPECT_TRUE(validUtf8(""));
  EXPECT_TRUE(validUtf8("пример-日本 🙂"));
  EXPECT_FALSE(validUtf8("\xc0\xaf")) << "overlong";
  EXPECT_FALSE(validUtf8("\xed\xa0\x80")) << "surrogate";
  EXPECT_FALSE(validUtf8("\xf4\x90\x80\x80")) << "above U+10FFFF";
  EXPECT_FALSE(validUtf8("\xe6\x97")) << "cut short";
  EXPECT_FALSE(validUtf8("\x80"));
}

TEST(WellKnownRules, IbmTableOverATree) {
  FakeTree tree;
  fillIbmTree(tree);
  auto table = ibmWellKnown();
  WellKnown wk(table, tree, true);
  EXPECT_EQ(valueOf(wk, table, "cloud"), "ibm");
  EXPECT_EQ(valueOf(wk, table, "instance-id"), "0717_abc");
  EXPECT_EQ(valueOf(wk, table, "hostname"), "web-01");
  EXPECT_EQ(valueOf(wk, table, "instance-type"), "bx2-2x8");
  EXPECT_EQ(valueOf(wk, table, "zone"), "us-south-1");
  EXPECT_EQ(valueOf(wk, table, "region"), "us-south");
  EXPECT_EQ(valueOf(wk, table, "image-id"), "r006-img");
  EXPECT_EQ(valueOf(wk, table, "vpc-id"), "r006-vpc");
  EXPECT_EQ(valueOf(wk, table, "ipv4-private"), "10.0.0.4");
  EXPECT_EQ(valueOf(wk, table, "ipv4-public"), "203.0.113.7");
  EXPECT_EQ(valueOf(wk, table, "ssh-key"), "ssh-ed25519 AAAA one\nssh-rsa BBBB two");
  EXPECT_EQ(valueOf(wk, table, "userdata"), "#cloud-config\n") << "byte-exact";
}

TEST(WellKnownRules, FallbackPathsAndAbsentFacts) {
  FakeTree tree;
  fillIbmTree(tree);
  auto table = ibmWellKnown();
  WellKnown wk(table, tree, true);
  // The API's older field name, then a network attachment.
  tree.files.erase("instance/primary_network_interface/primary_ip/address");
  tree.files["instance/primary_network_interface/primary_ipv4_address"] = "10.0.0.6\n";
  EXPECT_EQ(valueOf(wk, table, "ipv4-private"), "10.0.0.6");
  tree.files.erase("instance/primary_network_interface/primary_ipv4_address");
  tree.files.erase("instance/primary_network_interface/id");
  tree.files["instance/primary_network_attachment/primary_ip/address"] = "10.0.0.5\n";
  EXPECT_EQ(valueOf(wk, table, "ipv4-private"), "10.0.0.5");
  EXPECT_EQ(valueOf(wk, table, "ipv4-public"), std::nullopt) << "no primary interface";
  tree.files["instance/primary_network_interface/id"] = "0717-nic0\n";
  tree.dirs["instance/network_interfaces/0717-nic0/floating_ips"] = {};
  EXPECT_EQ(valueOf(wk, table, "ipv4-public"), std::nullopt) << "no floating IP";
  tree.files["instance/zone/name"] = "\n";  // an empty string: no value
  EXPECT_EQ(valueOf(wk, table, "zone"), std::nullopt);
  EXPECT_EQ(valueOf(wk, table, "region"), std::nullopt);
  tree.dirs.erase("keys");
  EXPECT_EQ(valueOf(wk, table, "ssh-key"), std::nullopt);
}

TEST(WellKnownRules, SubstitutedNamesFollowTheNamingRule) {
  FakeTree tree;
  fillIbmTree(tree);
  tree.files["instance/primary_network_interface/id"] = "a/b\n";
  tree.dirs["instance/network_interfaces/a%2Fb/floating_ips"] = {"f"};
  tree.files["instance/network_interfaces/a%2Fb/floating_ips/f/address"] = "198.51.100.1\n";
  auto table = ibmWellKnown();
  WellKnown wk(table, tree, true);
  EXPECT_EQ(valueOf(wk, table, "ipv4-public"), "198.51.100.1");
}

TEST(WellKnownRules, LinesLeaveOutValuesThatAreNotOneLine) {
  FakeTree tree;
  fillIbmTree(tree);
  tree.files["keys/k1/public_key"] = "ssh-ed25519 AAAA one\ncommand=\"evil\" ssh-rsa X\n";
  auto table = ibmWellKnown();
  WellKnown wk(table, tree, true);
  EXPECT_EQ(valueOf(wk, table, "ssh-key"), "ssh-rsa BBBB two");
}

TEST(WellKnownRules, WithoutTheNewlineRuleValuesAreTakenAsTheyAre) {
  FakeTree tree;
  fillIbmTree(tree);
  tree.files["instance/name"] = "web-01";
  auto table = ibmWellKnown();
  WellKnown wk(table, tree, false);
  EXPECT_EQ(valueOf(wk, table, "hostname"), "web-01");
  auto files = wk.files();
  auto hostname = std::find_if(files.begin(), files.end(),
                               [](const auto& f) { return f.path == "well-known/hostname"; });
  ASSERT_NE(hostname, files.end());
  EXPECT_EQ(hostname->produce(soon())->bytes, "web-01") << "newline=0: none added";
}

TEST(WellKnownRules, AFailingTreeIsAnErrorNotAnAbsence) {
  FakeTree tree;
  fillIbmTree(tree);
  tree.failing.insert("instance/name");
  auto table = ibmWellKnown();
  WellKnown wk(table, tree, true);
  auto v = wk.value(rule(table, "hostname"), soon());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().kind, ErrorKind::unreachable);
  EXPECT_FALSE(wk.json(soon()).ok());
  EXPECT_FALSE(wk.env(soon()).ok());
}

TEST(WellKnownFiles, OneFilePerFactPlusJsonAndEnv) {
  FakeTree tree;
  fillIbmTree(tree);
  auto table = ibmWellKnown();
  WellKnown wk(table, tree, true);
  auto files = wk.files();
  ASSERT_EQ(files.size(), table.facts.size() + 2);
  for (const auto& f : files) {
    SCOPED_TRACE(f.path);
    if (f.path == "well-known/cloud") {
      EXPECT_FALSE(f.optional);
      EXPECT_TRUE(f.sources.empty());
    } else if (f.path == "well-known/userdata") {
      EXPECT_EQ(f.perm, 0400U);
      EXPECT_EQ(f.sources, std::vector<std::string>{"instance/initialization/user_data"});
    } else if (f.path == "well-known.json" || f.path == "well-known.env") {
      EXPECT_FALSE(f.optional);
      EXPECT_EQ(f.perm, 0444U);
      EXPECT_EQ(std::count(f.sources.begin(), f.sources.end(), "instance/initialization/user_data"),
                0)
          << "user data is not in them";
    } else {
      EXPECT_TRUE(f.optional);
      EXPECT_EQ(f.perm, 0444U);
    }
  }
  tree.dirs["instance/network_interfaces/0717-nic0/floating_ips"] = {};
  auto pub = std::find_if(files.begin(), files.end(),
                          [](const auto& f) { return f.path == "well-known/ipv4-public"; });
  ASSERT_NE(pub, files.end());
  EXPECT_TRUE(pub->produce(soon())->absent);
}

TEST(WellKnownFiles, JsonAndEnvHoldEveryPublicFactAndRoundTripHostileValues) {
  FakeTree tree;
  fillIbmTree(tree);
  const std::string hostile = "a \"quoted\" $HOME `id` \\n\\ back\\slash\nnew line 'single'";
  tree.files["instance/name"] = hostile + "\n";
  tree.files["instance/vpc/id"] = std::string("nul\0inside", 10) + "\n";
  tree.files["instance/image/id"] = "\xff\xfe not utf-8\n";
  tree.dirs["instance/network_interfaces/0717-nic0/floating_ips"] = {};
  auto table = ibmWellKnown();
  WellKnown wk(table, tree, true);

  auto json = wk.json(soon());
  ASSERT_TRUE(json.ok());
  rapidjson::Document doc;
  doc.Parse(json->c_str(), json->size());
  ASSERT_FALSE(doc.HasParseError()) << *json;
  EXPECT_EQ(std::string(doc["hostname"].GetString(), doc["hostname"].GetStringLength()), hostile);
  EXPECT_EQ(std::string(doc["vpc-id"].GetString(), doc["vpc-id"].GetStringLength()),
            std::string("nul\0inside", 10));
  EXPECT_FALSE(doc.HasMember("image-id")) << "not UTF-8: left out, not altered";
  EXPECT_FALSE(doc.HasMember("ipv4-public")) << "absent";
  EXPECT_FALSE(doc.HasMember("userdata")) << "secret";
  EXPECT_EQ(std::string(doc["region"].GetString()), "us-south");

  auto env = wk.env(soon());
  ASSERT_TRUE(env.ok());
  EXPECT_NE(env->find("METADATA_CLOUD=\"ibm\"\n"), std::string::npos) << *env;
  EXPECT_NE(env->find("METADATA_HOSTNAME=" + envQuote(hostile) + "\n"), std::string::npos);
  EXPECT_EQ(env->find("METADATA_VPC_ID"), std::string::npos)
      << "a NUL cannot be in the environment";
  EXPECT_EQ(env->find("METADATA_IMAGE_ID"), std::string::npos);
  EXPECT_EQ(env->find("METADATA_IPV4_PUBLIC"), std::string::npos);
  EXPECT_EQ(env->find("METADATA_USERDATA"), std::string::npos);
}

}  // namespace
}  // namespace mdfs::files
