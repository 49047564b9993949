#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tree/catalog.h"
#include "tree/names.h"
#include "tree/snapshot.h"

namespace mdfs::tree {
namespace {

std::string dataAt(const Snapshot& s, std::string_view path) {
  const Node* n = s.find(path);
  return n != nullptr ? std::string(s.data(*n)) : "<missing>";
}

const EndpointSpec& spec(const Catalog& catalog, std::string_view mount) {
  int i = catalog.find(mount);
  EXPECT_GE(i, 0) << mount;
  return catalog.endpoints().at(static_cast<std::size_t>(i));
}

std::shared_ptr<Snapshot> build(const EndpointSpec& s, const std::string& body,
                                std::vector<std::string> hidden = {}, RenderOptions opts = {},
                                std::int64_t now = 100) {
  auto snap = Snapshot::build(s, body, opts, hidden, now);
  EXPECT_TRUE(snap.ok()) << (snap.ok() ? "" : snap.error().message);
  return snap.ok() ? snap.value() : nullptr;
}

std::vector<std::string> names(const Snapshot& snap, std::string_view path) {
  std::vector<std::string> out;
  const Node* dir = snap.find(path);
  if (dir == nullptr) return out;
  for (const auto& n : snap.children(*dir))
    out.emplace_back(snap.name(n));
  return out;
}

TEST(Names, ValidNamesAreKept) {
  EXPECT_EQ(escapeName("r006-key-ed"), "r006-key-ed");
  EXPECT_EQ(escapeName("пример 日本"), "пример 日本");
  EXPECT_EQ(escapeName("50%"), "50%");
}

TEST(Names, InvalidNamesAreEscapedByOneRule) {
  EXPECT_EQ(escapeName(""), "%");
  EXPECT_EQ(escapeName("."), "%2E");
  EXPECT_EQ(escapeName(".."), "%2E%2E");
  EXPECT_EQ(escapeName("a/b%c"), "a%2Fb%25c");
  EXPECT_EQ(escapeName(std::string("a\0b", 3)), "a%00b");
  std::string long_name(300, 'x');
  std::string escaped = escapeName(long_name);
  EXPECT_EQ(escaped.size(), kMaxNameBytes);
  EXPECT_TRUE(isValidName(escaped));
  EXPECT_NE(escapeName(std::string(300, 'y')), escaped);
}

TEST(Names, CollisionsGetSuffixesAndNothingIsDropped) {
  NameAllocator names;
  names.add("a/b");
  names.add("a%2Fb");
  names.add("a%2Fb");
  names.assign();
  EXPECT_EQ(names.name(0), "a%2Fb");
  EXPECT_EQ(names.name(1), "a%2Fb~2");
  EXPECT_EQ(names.name(2), "a%2Fb~3");
}

TEST(Catalog, VersionSelectsEndpoints) {
  Catalog old("2022-03-01");
  EXPECT_EQ(old.find("virtual_network_interfaces"), -1);
  EXPECT_EQ(old.find("instance/cluster_network_attachments"), -1);
  Catalog seed("2024-11-12");
  EXPECT_GE(seed.find("instance/cluster_network_attachments"), 0);
  EXPECT_EQ(seed.find("instance/software_attachments"), -1);
  Catalog recent("2026-06-23");
  EXPECT_GE(recent.find("instance/software_attachments"), 0);
}

TEST(Catalog, OwnerIsTheDeepestEndpoint) {
  Catalog c("2025-08-26");
  EXPECT_EQ(c.endpoints()[c.owner("instance/name")].mount_path, "instance");
  EXPECT_EQ(c.endpoints()[c.owner("instance/network_interfaces/x/name")].mount_path,
            "instance/network_interfaces");
  EXPECT_EQ(c.endpoints()[c.owner("instance")].mount_path, "instance");
  EXPECT_EQ(c.owner("instancex"), -1);
  EXPECT_EQ(c.owner(""), -1);
  std::vector<std::string> kids;
  for (int i : c.childrenOf("instance"))
    kids.emplace_back(c.endpoints()[i].name());
  EXPECT_EQ(kids,
            (std::vector<std::string>{"initialization", "network_interfaces", "network_attachments",
                                      "volume_attachments", "cluster_network_attachments"}));
}

TEST(Snapshot, MapsEveryJsonTypeByRuleTwo) {
  Catalog c("2025-08-26");
  auto snap = build(spec(c, "instance"),
                    R"({"name":"web-01","memory":8,"ok":true,"gone":null,"list":[],"ratio":0.50,)"
                    R"("zone":{"name":"us-south-1"},"tags":["a","b"],"network_interfaces":[1]})",
                    {"network_interfaces"});
  ASSERT_TRUE(snap);
  EXPECT_EQ(names(*snap, ""), (std::vector<std::string>{"gone", "list", "memory", "name", "ok",
                                                        "ratio", "tags", "zone"}));
  EXPECT_EQ(dataAt(*snap, "name"), "web-01\n");
  EXPECT_EQ(dataAt(*snap, "memory"), "8\n");
  EXPECT_EQ(dataAt(*snap, "ratio"), "0.50\n");
  EXPECT_EQ(dataAt(*snap, "ok"), "true\n");
  EXPECT_EQ(dataAt(*snap, "gone"), "");
  EXPECT_EQ(snap->find("gone")->kind, Node::Kind::file);
  EXPECT_EQ(snap->find("list")->kind, Node::Kind::directory);
  EXPECT_TRUE(names(*snap, "list").empty());
  EXPECT_EQ(dataAt(*snap, "zone/name"), "us-south-1\n");
  EXPECT_EQ(names(*snap, "tags"), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(dataAt(*snap, "tags/1"), "b\n");
  EXPECT_EQ(snap->find("network_interfaces"), nullptr);
  EXPECT_EQ(snap->find("zone/nope"), nullptr);
  EXPECT_EQ(snap->find("name/below"), nullptr);
}

TEST(Snapshot, NewlineCanBeTurnedOff) {
  Catalog c("2025-08-26");
  RenderOptions raw;
  raw.newline = false;
  auto snap = build(spec(c, "instance"), R"({"name":"web","n":3})", {}, raw);
  EXPECT_EQ(dataAt(*snap, "name"), "web");
  EXPECT_EQ(dataAt(*snap, "n"), "3");
}

TEST(Snapshot, IdKeyedCollectionWithByNameLinks) {
  Catalog c("2025-08-26");
  auto snap = build(spec(c, "placement_groups"),
                    R"({"limit":50,"placement_groups":[{"id":"r006-a","name":"one"},)"
                    R"({"id":"r006-b","name":"dup"},{"id":"r006-c","name":"dup"},)"
                    R"({"id":"r006-d","name":"a/b"}]})");
  ASSERT_TRUE(snap);
  EXPECT_EQ(names(*snap, ""),
            (std::vector<std::string>{"by-name", "r006-a", "r006-b", "r006-c", "r006-d"}));
  EXPECT_EQ(names(*snap, "by-name"), (std::vector<std::string>{"a%2Fb", "one"}));
  EXPECT_EQ(snap->find("by-name/one")->kind, Node::Kind::symlink);
  EXPECT_EQ(dataAt(*snap, "by-name/one"), "../r006-a");
  EXPECT_EQ(dataAt(*snap, "r006-c/name"), "dup\n");
}

TEST(Snapshot, ArraysWithoutUniqueIdsAreIndexed) {
  Catalog c("2025-08-26");
  auto snap = build(spec(c, "keys"), R"({"keys":[{"id":"k"},{"id":"k"},{"name":"x"}]})");
  EXPECT_EQ(names(*snap, ""), (std::vector<std::string>{"0", "1", "2"}));
  auto shadow = build(spec(c, "keys"), R"({"keys":[{"id":"by-name"}]})");
  EXPECT_EQ(names(*shadow, ""), (std::vector<std::string>{"0"}));
}

TEST(Snapshot, SecretsAndBlobs) {
  Catalog c("2025-08-26");
  std::string user_data = "#cloud-config\nruncmd:\n  - echo hi";
  auto snap = build(spec(c, "instance/initialization"),
                    R"({"user_data":"#cloud-config\nruncmd:\n  - echo hi","keys":[{"id":"k1"}],)"
                    R"("password":{"encrypted_password":"QUJD","encryption_key":{"id":"k1"}}})");
  ASSERT_TRUE(snap);
  EXPECT_EQ(dataAt(*snap, "user_data"), user_data);
  EXPECT_TRUE(snap->find("user_data")->secret);
  EXPECT_TRUE(snap->find("password")->secret);
  EXPECT_TRUE(snap->find("password/encryption_key/id")->secret);
  EXPECT_FALSE(snap->find("keys/k1/id")->secret);
  EXPECT_TRUE(snap->rawSecret());
}

TEST(Snapshot, RejectsWrongShapes) {
  Catalog c("2025-08-26");
  EXPECT_FALSE(Snapshot::build(spec(c, "keys"), R"({"nokeys":[]})", {}, {}, 1).ok());
  EXPECT_FALSE(Snapshot::build(spec(c, "instance"), R"([1,2])", {}, {}, 1).ok());
  EXPECT_FALSE(Snapshot::build(spec(c, "instance"), "<html>", {}, {}, 1).ok());
}

TEST(Snapshot, EscapesAwkwardKeys) {
  Catalog c("2025-08-26");
  auto snap = build(spec(c, "instance"), R"({"a/b":1,"":2,".":3,"..":4,"a%2Fb":5})");
  EXPECT_EQ(names(*snap, ""), (std::vector<std::string>{"%", "%2E", "%2E%2E", "a%2Fb", "a%2Fb~2"}));
}

TEST(Snapshot, InheritTimesKeepsMtimeOfEqualValuesAndListsChanges) {
  Catalog c("2025-08-26");
  const auto& s = spec(c, "keys");
  auto old_snap =
      build(s, R"({"keys":[{"id":"a","name":"x","v":"1"},{"id":"b","v":"2"}]})", {}, {}, 100);
  auto fresh =
      build(s, R"({"keys":[{"id":"a","name":"x","v":"9"},{"id":"c","v":"3"}]})", {}, {}, 200);
  ChangeList changes;
  fresh->inheritTimes(*old_snap, &changes);
  EXPECT_EQ(fresh->find("a/name")->mtime_ns, 100);
  EXPECT_EQ(fresh->find("a/v")->mtime_ns, 200);
  EXPECT_EQ(fresh->find("a")->mtime_ns, 100);  // same entries
  EXPECT_EQ(fresh->root().mtime_ns, 200);      // b left, c came
  EXPECT_EQ(changes.changed, (std::vector<std::string>{"a/v", ""}));
  EXPECT_EQ(changes.removed, (std::vector<std::string>{"b"}));
  EXPECT_EQ(changes.added, (std::vector<std::string>{"c"}));
  EXPECT_TRUE(changes.raw_changed);
  EXPECT_EQ(fresh->rawMtime(), 200);

  auto same = build(s, old_snap->raw(), {}, {}, 300);
  ChangeList none;
  same->inheritTimes(*old_snap, &none);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(same->rawMtime(), 100);
  EXPECT_EQ(same->find("b/v")->mtime_ns, 100);
}

}  // namespace
}  // namespace mdfs::tree
