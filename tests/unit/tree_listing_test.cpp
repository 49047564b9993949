// Text listings and values of the text clouds (AWS, GCE) as snapshots.
#include <gtest/gtest.h>

#include "tree/listing.h"
#include "tree/names.h"

namespace mdfs::tree {
namespace {

EndpointSpec specAt(std::string mount) {
  EndpointSpec s;
  s.mount_path = std::move(mount);
  s.secrets = {"meta-data/iam/security-credentials", "user-data"};
  s.blobs = {"user-data"};
  return s;
}

std::vector<std::string> namesOf(const Snapshot& s, const Node& dir) {
  std::vector<std::string> out;
  for (const auto& n : s.children(dir))
    out.emplace_back(s.name(n));
  return out;
}

// Regression: carrying times over walked a remote directory's text offsets as node indices
// (the daemon crashed when a refetched listing gained a name).
TEST(Listing, ARefetchCarriesTimesOverAndListsOnlyTheNewName) {
  // Many directories with long names: their text offsets lie far beyond the node count.
  std::string body;
  for (int i = 0; i < 40; ++i)
    body += "directory-with-a-rather-long-name-" + std::to_string(i) + "/\n";
  auto before = buildListing(specAt("meta-data"), body + "value\n", ListingStyle::plain, 1);
  auto after =
      buildListing(specAt("meta-data"), body + "value\nnew-fact\n", ListingStyle::plain, 2);
  ASSERT_TRUE(before.ok() && after.ok());
  ChangeList changes;
  after.value()->inheritTimes(*before.value(), &changes);
  EXPECT_EQ(changes.added, std::vector<std::string>{"new-fact"});
  EXPECT_TRUE(changes.changed.empty() || changes.changed == std::vector<std::string>{""});
  EXPECT_TRUE(changes.removed.empty());
  EXPECT_EQ(after.value()->find("directory-with-a-rather-long-name-7")->mtime_ns, 1);
  EXPECT_EQ(after.value()->find("value")->mtime_ns, 1);
  EXPECT_EQ(after.value()->find("new-fact")->mtime_ns, 2);
}

TEST(Listing, DirectoriesAndValuesAreRemoteNodesInNameOrder) {
  auto snap = buildListing(specAt("meta-data"), "local-ipv4\nplacement/\nami-id\nhostname",
                           ListingStyle::plain, 1);
  ASSERT_TRUE(snap.ok());
  const Snapshot& s = *snap.value();
  EXPECT_EQ(namesOf(s, s.root()),
            (std::vector<std::string>{"ami-id", "hostname", "local-ipv4", "placement"}));
  const Node* placement = s.find("placement");
  ASSERT_NE(placement, nullptr);
  EXPECT_EQ(placement->kind, Node::Kind::directory);
  EXPECT_TRUE(placement->remote);
  EXPECT_EQ(s.remoteName(*placement), "placement");
  EXPECT_TRUE(s.children(*placement).empty());
  const Node* ami = s.find("ami-id");
  ASSERT_NE(ami, nullptr);
  EXPECT_EQ(ami->kind, Node::Kind::file);
  EXPECT_TRUE(ami->remote);
  EXPECT_EQ(s.data(*ami), "") << "a remote value's bytes are another resource";
}

TEST(Listing, AwsPublicKeysGetIndexDirectoriesAndByNameLinks) {
  auto snap = buildListing(specAt("meta-data/public-keys"), "0=ops-rsa\n1=dev\n2=dev\n",
                           ListingStyle::aws, 1);
  ASSERT_TRUE(snap.ok());
  const Snapshot& s = *snap.value();
  EXPECT_EQ(namesOf(s, s.root()), (std::vector<std::string>{"0", "1", "2", "by-name"}));
  const Node* link = s.find("by-name/ops-rsa");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->kind, Node::Kind::symlink);
  EXPECT_EQ(s.data(*link), "../0");
  EXPECT_EQ(s.find("by-name/dev"), nullptr) << "a name listed twice gets no link";
  EXPECT_TRUE(s.find("0")->remote);
}

TEST(Listing, HostileNamesAreEscapedAndKeepTheirUrlName) {
  auto snap =
      buildListing(specAt("attributes"), "..\na/b\n\nnew\nline\n.\n", ListingStyle::plain, 1);
  ASSERT_TRUE(snap.ok());
  const Snapshot& s = *snap.value();
  EXPECT_EQ(namesOf(s, s.root()),
            (std::vector<std::string>{"%2E", "%2E%2E", "a%2Fb", "line", "new"}));
  EXPECT_EQ(s.remoteName(*s.find("a%2Fb")), "a/b");
  EXPECT_EQ(urlSegment("a/b c=d"), "a%2Fb%20c%3Dd");
}

TEST(Listing, SecretsFollowTheirPathsInTheTree) {
  auto creds =
      buildListing(specAt("meta-data/iam/security-credentials"), "web-role", ListingStyle::aws, 1);
  ASSERT_TRUE(creds.ok());
  EXPECT_TRUE(creds.value()->find("web-role")->secret);
  auto user = buildValue(specAt("user-data"), "#!/bin/sh\n", RenderOptions{}, 1);
  ASSERT_TRUE(user.ok());
  EXPECT_TRUE(user.value()->root().secret);
  EXPECT_EQ(user.value()->data(user.value()->root()), "#!/bin/sh\n") << "byte-exact blob";
  auto id = buildValue(specAt("meta-data/instance-id"), "i-0abc", RenderOptions{}, 1);
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(id.value()->root().secret);
  EXPECT_EQ(id.value()->data(id.value()->root()), "i-0abc\n") << "the newline rule";
}

}  // namespace
}  // namespace mdfs::tree

namespace mdfs::tree {
namespace {

TEST(CloudCatalogs, TheTextCloudsStartFromTheirRootListing) {
  Catalog aws("", Cloud::aws);
  ASSERT_EQ(aws.endpoints().size(), 1U);
  EXPECT_EQ(aws.endpoints()[0].api_path, "/latest/");
  EXPECT_EQ(aws.endpoints()[0].format, Format::listing);
  Catalog gcp("", Cloud::gcp);
  const auto& g = gcp.endpoints()[0];
  EXPECT_TRUE(g.isSecret("instance/service-accounts/default/token"));
  EXPECT_TRUE(g.isSecret("instance/service-accounts/1234-compute@x.iam/token"));
  EXPECT_FALSE(g.isSecret("instance/service-accounts/default/email"));
  EXPECT_TRUE(g.isBlob("instance/attributes/user-data"));
}

TEST(CloudCatalogs, AzureServesItsUserDataDecoded) {
  Catalog azure("", Cloud::azure);
  ASSERT_EQ(azure.endpoints().size(), 2U);
  const auto& instance = azure.endpoints()[0];
  EXPECT_EQ(instance.api_path, "/metadata/instance");
  EXPECT_TRUE(instance.rawIsSecret());
  auto snap = Snapshot::build(instance,
                              R"({"compute":{"userData":"IyFiaW4vc2gKZWNobyBoaQo=","name":"vm"}})",
                              RenderOptions{}, {}, 1);
  ASSERT_TRUE(snap.ok());
  const Node* user = snap.value()->find("compute/userData");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(snap.value()->data(*user), "#!bin/sh\necho hi\n");
  EXPECT_TRUE(user->secret);
  EXPECT_EQ(snap.value()->data(*snap.value()->find("compute/name")), "vm\n");
  EXPECT_EQ(decodeBase64("aGk"), "hi");
  EXPECT_FALSE(decodeBase64("not base64!").has_value());
}

}  // namespace
}  // namespace mdfs::tree
