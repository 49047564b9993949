// The emulated metadata API over real HTTP: every endpoint and item route serves the
// scenario, version rules and gates, pagination, error shape, the shipped scenarios, and
// editing the scenario while serving.
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "emulator/crypto.h"
#include "emulator/emulator.h"
#include "emulator/testing.h"

namespace mdfs::emu {
namespace {

using testing::Client;
using testing::Reply;

constexpr const char* kAllGates = "2026-07-01";  // every endpoint exists at this version

struct Collection {
  const char* path;
  const char* member;
};
constexpr Collection kCollections[] = {
    {"/metadata/v1/instance/network_interfaces", "network_interfaces"},
    {"/metadata/v1/instance/network_attachments", "network_attachments"},
    {"/metadata/v1/instance/volume_attachments", "volume_attachments"},
    {"/metadata/v1/instance/cluster_network_attachments", "cluster_network_attachments"},
    {"/metadata/v1/instance/software_attachments", "software_attachments"},
    {"/metadata/v1/virtual_network_interfaces", "virtual_network_interfaces"},
    {"/metadata/v1/keys", "keys"},
    {"/metadata/v1/placement_groups", "placement_groups"},
};

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  return d;
}

std::string canonical(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

class EmulatorMetadata : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(emu.start().ok());
    token = Client(emu.url()).token();
  }
  Reply get(const std::string& path, const std::string& version = testing::kVersion,
            const std::string& extra_query = "") {
    return Client(emu.url()).get(path + "?version=" + version + extra_query, Client::bearer(token));
  }
  // The scenario's value at a JSON pointer, canonical.
  std::string scenario(const std::string& pointer) {
    auto d = parse(emu.scenarioJson());
    const auto* v = rapidjson::Pointer(pointer.c_str()).Get(d);
    return v != nullptr ? canonical(*v) : "<absent>";
  }

  Emulator emu{Options{}};
  std::string token;
};

TEST_F(EmulatorMetadata, InstanceAndInitializationServeTheScenario) {
  const Reply instance = get("/metadata/v1/instance");
  ASSERT_EQ(instance.status, 200) << instance.body;
  EXPECT_EQ(instance.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_FALSE(instance.header("X-Request-Id").empty());
  EXPECT_EQ(canonical(instance.json()), scenario("/instance"));
  const Reply init = get("/metadata/v1/instance/initialization");
  ASSERT_EQ(init.status, 200);
  EXPECT_EQ(canonical(init.json()), scenario("/initialization"));
}

TEST_F(EmulatorMetadata, EveryCollectionServesItsArray) {
  for (const auto& c : kCollections) {
    const Reply r = get(c.path, kAllGates);
    ASSERT_EQ(r.status, 200) << c.path << ": " << r.body;
    const auto body = r.json();
    ASSERT_TRUE(body.HasMember(c.member)) << c.path;
    EXPECT_EQ(canonical(body[c.member]), scenario(std::string("/") + c.member)) << c.path;
  }
}

TEST_F(EmulatorMetadata, EveryItemRouteServesTheElementById) {
  for (const auto& c : kCollections) {
    const auto doc = parse(emu.scenarioJson());
    ASSERT_GT(doc[c.member].Size(), 0U) << c.member;
    for (const auto& item : doc[c.member].GetArray()) {
      const std::string id = item["id"].GetString();
      const Reply r = get(std::string(c.path) + "/" + id, kAllGates);
      ASSERT_EQ(r.status, 200) << c.path << "/" << id;
      EXPECT_EQ(canonical(r.json()), canonical(item));
    }
    const Reply missing =
        get(std::string(c.path) + "/r006-00000000-0000-4000-8000-000000000000", kAllGates);
    EXPECT_EQ(missing.status, 404) << c.path;
    EXPECT_EQ(missing.errorCode(), "not_found");
    EXPECT_EQ(missing.at("/errors/0/target/value"), "r006-00000000-0000-4000-8000-000000000000");
  }
}

TEST_F(EmulatorMetadata, UnknownPathsAre404NotFound) {
  for (const char* path : {"/", "/metadata/v1", "/metadata/v1/instances", "/metadata/v1/instance/",
                           "/metadata/v1/instance/disks", "/metadata/v1/keys/a/b",
                           "/metadata/v1/instance/initialization/x", "/identity/v1/certificate",
                           "/metadata/v2/instance"}) {
    const Reply r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.errorCode(), "not_found") << path;
    EXPECT_EQ(r.header("Content-Type"), "application/json; charset=utf-8");
  }
}

TEST_F(EmulatorMetadata, ErrorsHaveIbmShapeWithTraceEqualToRequestId) {
  const Reply r = get("/metadata/v1/keys/nope");
  ASSERT_EQ(r.status, 404);
  const auto body = r.json();
  ASSERT_TRUE(body.IsObject());
  ASSERT_TRUE(body["errors"].IsArray());
  ASSERT_EQ(body["errors"].Size(), 1U);
  EXPECT_TRUE(body["errors"][0]["code"].IsString());
  EXPECT_TRUE(body["errors"][0]["message"].IsString());
  EXPECT_EQ(r.at("/trace"), r.header("X-Request-Id"));
  EXPECT_EQ(r.at("/trace").size(), 36U);
  EXPECT_NE(get("/metadata/v1/keys/nope").at("/trace"), r.at("/trace"));
}

TEST_F(EmulatorMetadata, VersionGatesHideNewerEndpoints) {
  struct Gate {
    const char* path;
    const char* before;
    const char* since;
  };
  for (const Gate& g :
       {Gate{"/metadata/v1/instance/network_attachments", "2023-12-18", "2023-12-19"},
        Gate{"/metadata/v1/virtual_network_interfaces", "2023-12-18", "2023-12-19"},
        Gate{"/metadata/v1/instance/cluster_network_attachments", "2024-11-11", "2024-11-12"},
        Gate{"/metadata/v1/instance/software_attachments", "2026-06-22", "2026-06-23"}}) {
    EXPECT_EQ(get(g.path, g.before).status, 404) << g.path;
    EXPECT_EQ(get(g.path, g.since).status, 200) << g.path;
  }
  const auto doc = parse(emu.scenarioJson());
  const std::string vni = doc["virtual_network_interfaces"][0]["id"].GetString();
  EXPECT_EQ(get("/metadata/v1/virtual_network_interfaces/" + vni, "2023-12-18").status, 404);
}

TEST_F(EmulatorMetadata, TheSeedVersionServesTheDocumentedEndpoints) {
  for (const char* path :
       {"/metadata/v1/instance", "/metadata/v1/instance/initialization", "/metadata/v1/keys",
        "/metadata/v1/placement_groups", "/metadata/v1/instance/network_interfaces",
        "/metadata/v1/instance/volume_attachments",
        "/metadata/v1/instance/cluster_network_attachments",
        "/metadata/v1/instance/network_attachments", "/metadata/v1/virtual_network_interfaces"}) {
    EXPECT_EQ(get(path, "2024-11-12").status, 200) << path;
  }
}

TEST_F(EmulatorMetadata, VersionRuleOnEveryMetadataRoute) {
  std::vector<std::string> paths = {"/metadata/v1/instance",
                                    "/metadata/v1/instance/initialization"};
  const auto doc = parse(emu.scenarioJson());
  for (const auto& c : kCollections) {
    paths.emplace_back(c.path);
    paths.push_back(std::string(c.path) + "/" + doc[c.member][0]["id"].GetString());
  }
  Client client(emu.url());
  for (const auto& path : paths) {
    const Reply missing = client.get(path, Client::bearer(token));
    EXPECT_EQ(missing.status, 400) << path;
    EXPECT_EQ(missing.errorCode(), "missing_field") << path;
    const Reply bad = client.get(path + "?version=2024-02-30", Client::bearer(token));
    EXPECT_EQ(bad.status, 400) << path;
    EXPECT_EQ(bad.errorCode(), "invalid_value") << path;
    EXPECT_EQ(bad.at("/errors/0/target/name"), "version");
    EXPECT_EQ(bad.at("/errors/0/target/type"), "parameter");
    const Reply old = client.get(path + "?version=2021-09-30", Client::bearer(token));
    EXPECT_EQ(old.status, 400) << path;
    EXPECT_EQ(old.errorCode(), "invalid_version_range") << path;
  }
}

TEST_F(EmulatorMetadata, PlacementGroupsPageWithDefaultLimit50) {
  const Reply r = get("/metadata/v1/placement_groups");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.at("/limit"), "50");
  EXPECT_EQ(r.at("/total_count"), "6");
  EXPECT_EQ(r.at("/first/href"), emu.url() + "/metadata/v1/placement_groups?limit=50");
  EXPECT_EQ(r.at("/next/href"), "");
  EXPECT_EQ(r.json()["placement_groups"].Size(), 6U);
}

// Follows `next` from the first page; returns the ids in order and the number of pages.
std::pair<std::vector<std::string>, int> walk(EmulatorMetadata& t, Emulator& emu,
                                              const std::string& token, const std::string& path,
                                              const char* member, int limit,
                                              const std::string& version = testing::kVersion) {
  std::vector<std::string> ids;
  int pages = 0;
  std::string query = "&limit=" + std::to_string(limit);
  Client client(emu.url());
  client.keepAlive();
  for (;;) {
    const Reply r = client.get(path + "?version=" + version + query, Client::bearer(token));
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) break;
    ++pages;
    const auto body = r.json();
    EXPECT_EQ(body["limit"].GetInt(), limit);
    for (const auto& item : body[member].GetArray())
      ids.emplace_back(item["id"].GetString());
    if (!body.HasMember("next")) break;
    const std::string next = body["next"]["href"].GetString();
    EXPECT_EQ(next.rfind(emu.url() + path + "?", 0), 0U) << next;
    query = "&" + next.substr(next.find('?') + 1);  // carries limit and start, not version
    EXPECT_EQ(next.find("version="), std::string::npos);
    (void)t;
  }
  return {ids, pages};
}

TEST_F(EmulatorMetadata, PaginationFollowsNextThroughEveryPage) {
  const auto [ids, pages] =
      walk(*this, emu, token, "/metadata/v1/placement_groups", "placement_groups", 2);
  EXPECT_EQ(pages, 3);
  const auto doc = parse(emu.scenarioJson());
  std::vector<std::string> expected;
  for (const auto& pg : doc["placement_groups"].GetArray())
    expected.emplace_back(pg["id"].GetString());
  EXPECT_EQ(ids, expected);
  const auto [vnis, vni_pages] = walk(*this, emu, token, "/metadata/v1/virtual_network_interfaces",
                                      "virtual_network_interfaces", 1);
  EXPECT_EQ(vnis.size(), 2U);
  EXPECT_EQ(vni_pages, 2);
  const Reply cna = get("/metadata/v1/instance/cluster_network_attachments");
  EXPECT_EQ(cna.at("/total_count"), "1");
  EXPECT_EQ(cna.at("/limit"), "50");
}

TEST_F(EmulatorMetadata, LimitOutside1To100AndBadStartAre400) {
  for (const char* limit : {"0", "101", "-1", "abc", "", "5x"}) {
    const Reply r =
        get("/metadata/v1/placement_groups", testing::kVersion, std::string("&limit=") + limit);
    EXPECT_EQ(r.status, 400) << limit;
    EXPECT_EQ(r.errorCode(), "invalid_value");
    EXPECT_EQ(r.at("/errors/0/target/name"), "limit");
  }
  EXPECT_EQ(get("/metadata/v1/placement_groups", testing::kVersion, "&limit=100").status, 200);
  EXPECT_EQ(get("/metadata/v1/placement_groups", testing::kVersion, "&limit=1").status, 200);
  for (const char* start : {"first", "0", "ffffffffffffffff"}) {
    const Reply r =
        get("/metadata/v1/placement_groups", testing::kVersion, std::string("&start=") + start);
    EXPECT_EQ(r.status, 400) << start;
    EXPECT_EQ(r.at("/errors/0/target/name"), "start");
  }
}

TEST_F(EmulatorMetadata, UnknownQueryParametersAndGetBodiesAreIgnored) {
  EXPECT_EQ(get("/metadata/v1/instance", testing::kVersion, "&maturity=beta&x=1").status, 200);
  // IBM's placement-groups curl example sends a form body with its GET.
  const std::string body = "version=2024-11-12&{\"start\": \"first\", \"limit\": 50}";
  const auto raw = testing::rawExchange(
      emu.port(),
      "GET /metadata/v1/placement_groups?version=2024-11-12 HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\nAuthorization: Bearer " +
          token +
          "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  EXPECT_EQ(raw.received.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << raw.received;
  EXPECT_NE(raw.received.find("\"total_count\":6"), std::string::npos);
}

TEST_F(EmulatorMetadata, KeysAreUnpaginatedUnlessSwitchedOn) {
  const Reply plain = get("/metadata/v1/keys", testing::kVersion, "&limit=1");
  ASSERT_EQ(plain.status, 200);
  const auto body = plain.json();
  EXPECT_EQ(body.MemberCount(), 1U);
  EXPECT_EQ(body["keys"].Size(), 2U);
  emu.setKeysPaginated(true);
  EXPECT_TRUE(emu.keysPaginated());
  const auto [ids, pages] = walk(*this, emu, token, "/metadata/v1/keys", "keys", 1);
  EXPECT_EQ(ids.size(), 2U);
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(get("/metadata/v1/keys").at("/total_count"), "2");
}

TEST_F(EmulatorMetadata, DefaultScenarioCoversTheCasesClientsMustHandle) {
  const auto doc = parse(emu.scenarioJson());
  // Two network interfaces with floating IPs and security groups.
  ASSERT_EQ(doc["network_interfaces"].Size(), 2U);
  for (const auto& nic : doc["network_interfaces"].GetArray()) {
    EXPECT_GE(nic["floating_ips"].Size(), 1U);
    EXPECT_GE(nic["security_groups"].Size(), 1U);
  }
  EXPECT_EQ(doc["network_attachments"].Size(), 2U);
  EXPECT_EQ(doc["virtual_network_interfaces"].Size(), 2U);
  EXPECT_EQ(doc["volume_attachments"].Size(), 2U);
  EXPECT_EQ(doc["cluster_network_attachments"].Size(), 1U);
  // Keys of two types.
  std::set<std::string> types;
  for (const auto& k : doc["keys"].GetArray())
    types.insert(k["type"].GetString());
  EXPECT_EQ(types, (std::set<std::string>{"ed25519", "rsa"}));
  EXPECT_EQ(std::string(doc["keys"][0]["public_key"].GetString()).rfind("ssh-ed25519 AAAAC3Nza", 0),
            0U);
  EXPECT_EQ(std::string(doc["keys"][1]["public_key"].GetString()).rfind("ssh-rsa AAAAB3Nza", 0),
            0U);
  // Placement groups: at least 5, a shared name, a non-ASCII name.
  ASSERT_GE(doc["placement_groups"].Size(), 5U);
  std::multiset<std::string> names;
  for (const auto& pg : doc["placement_groups"].GetArray())
    names.insert(pg["name"].GetString());
  EXPECT_TRUE(
      std::any_of(names.begin(), names.end(), [&](const auto& n) { return names.count(n) == 2; }));
  EXPECT_EQ(names.count("пример-日本"), 1U);
  // Every JSON type: null, empty array, nested object, numbers, booleans.
  EXPECT_TRUE(doc["instance"]["dedicated_host"].IsNull());
  EXPECT_TRUE(doc["instance"]["disks"].IsArray() && doc["instance"]["disks"].Empty());
  EXPECT_TRUE(doc["instance"]["vcpu"].IsObject());
  EXPECT_TRUE(doc["instance"]["memory"].IsInt());
  EXPECT_TRUE(doc["instance"]["enable_secure_boot"].IsBool());
  EXPECT_TRUE(doc["instance"]["startable"].IsBool());
  // The multipart cloud-config of IBM's page, byte for byte, with no trailing newline.
  const std::string user_data = doc["initialization"]["user_data"].GetString();
  EXPECT_EQ(
      user_data.rfind("Content-Type: multipart/form-data; "
                      "boundary=3efa30189c9e0e8ebc24a4decbbf4c2be7b26120c1cdd7cb7bc2ecb0c07c\nMIME-"
                      "Version: 1.0\n\n",
                      0),
      0U);
  EXPECT_NE(user_data.find("#cloud-config\ndisable_root: false\n"), std::string::npos);
  EXPECT_TRUE(
      user_data.ends_with("--3efa30189c9e0e8ebc24a4decbbf4c2be7b26120c1cdd7cb7bc2ecb0c07c--"));
  EXPECT_TRUE(doc["initialization"]["default_trusted_profile"]["target"]["id"].IsString());
  EXPECT_EQ(std::string(doc["instance"]["id"].GetString()).rfind("0717_", 0), 0U);
}

TEST_F(EmulatorMetadata, ScenarioDataCanBeSetAddedAndDeleted) {
  ASSERT_TRUE(emu.setData("/instance/name", R"("renamed-01")").ok());
  EXPECT_EQ(get("/metadata/v1/instance").at("/name"), "renamed-01");
  ASSERT_TRUE(emu.setData("/instance/new_field", R"({"nested":[1,null,true]})").ok());
  EXPECT_EQ(get("/metadata/v1/instance").at("/new_field/nested/2"), "true");

  ASSERT_TRUE(emu.addData("/keys", R"({"id":"r006-added","name":"added","type":"rsa"})").ok());
  EXPECT_EQ(get("/metadata/v1/keys").json()["keys"].Size(), 3U);
  EXPECT_EQ(get("/metadata/v1/keys/r006-added").at("/name"), "added");

  ASSERT_TRUE(emu.deleteData("/placement_groups/0").ok());
  EXPECT_EQ(get("/metadata/v1/placement_groups").at("/total_count"), "5");
  EXPECT_EQ(get("/metadata/v1/placement_groups/r006-418fe842-a3e9-47b9-a938-1aa5bd632871").status,
            404);

  ASSERT_TRUE(emu.deleteData("/instance").ok());
  EXPECT_EQ(get("/metadata/v1/instance").status, 404);
  EXPECT_EQ(*emu.data("/initialization/keys/0/name"), R"("ops-ed25519")");

  EXPECT_FALSE(emu.setData("no-slash", "1").ok());
  EXPECT_FALSE(emu.setData("/instance/name", "{not json").ok());
  EXPECT_FALSE(emu.addData("/instance_missing", "1").ok());
  EXPECT_FALSE(emu.addData("/initialization", "1").ok());  // not an array
  const auto missing = emu.deleteData("/nothing/here");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().errnum, ENOENT);
  EXPECT_FALSE(emu.deleteData("").ok());
}

class EmulatorLargeScenario : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emu.start().ok()); }
  Emulator emu{[] {
    Options o;
    o.scenario = "large";
    return o;
  }()};
};

TEST_F(EmulatorLargeScenario, HasTenThousandPlacementGroupsAndAThousandKeys) {
  const auto doc = parse(emu.scenarioJson());
  EXPECT_FALSE(doc.HasMember("generate"));
  EXPECT_FALSE(doc.HasMember("extends"));
  EXPECT_GE(doc["placement_groups"].Size(), 10000U);
  EXPECT_GE(doc["keys"].Size(), 1000U);
  EXPECT_TRUE(doc["instance"].IsObject());  // the rest of the default scenario
  std::set<std::string> ids;
  for (const auto& pg : doc["placement_groups"].GetArray())
    ids.insert(pg["id"].GetString());
  EXPECT_EQ(ids.size(), doc["placement_groups"].Size());
}

TEST_F(EmulatorLargeScenario, GeneratedDataIsTheSameEveryRun) {
  Emulator other{[] {
    Options o;
    o.scenario = scenarioDirectory() + "/large.json";
    return o;
  }()};
  ASSERT_TRUE(other.start().ok());
  EXPECT_EQ(other.scenarioJson(), emu.scenarioJson());
}

TEST_F(EmulatorLargeScenario, GeneratedKeysAreWellFormedOpenSshKeys) {
  const auto doc = parse(emu.scenarioJson());
  const auto& key = doc["keys"][doc["keys"].Size() - 1];
  const std::string public_key = key["public_key"].GetString();
  ASSERT_EQ(public_key.rfind("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 0), 0U) << public_key;
  const std::string b64 = public_key.substr(12, public_key.find(' ', 12) - 12);
  EXPECT_EQ(b64.size(), 68U);  // 51 bytes of wire format
  EXPECT_EQ(std::string(key["fingerprint"].GetString()).rfind("SHA256:", 0), 0U);
}

TEST_F(EmulatorLargeScenario, AllPagesAtLimit100) {
  const std::string token = Client(emu.url()).token();
  std::vector<std::string> ids;
  int pages = 0;
  Client client(emu.url());
  client.keepAlive();
  std::string query = "&limit=100";
  for (;;) {
    const Reply r = client.get("/metadata/v1/placement_groups?version=2024-11-12" + query,
                               Client::bearer(token));
    ASSERT_EQ(r.status, 200);
    ++pages;
    const auto body = r.json();
    for (const auto& pg : body["placement_groups"].GetArray())
      ids.emplace_back(pg["id"].GetString());
    if (!body.HasMember("next")) break;
    const std::string next = body["next"]["href"].GetString();
    query = "&" + next.substr(next.find('?') + 1);
  }
  const auto doc = parse(emu.scenarioJson());
  EXPECT_EQ(ids.size(), doc["placement_groups"].Size());
  EXPECT_EQ(pages, static_cast<int>((doc["placement_groups"].Size() + 99) / 100));
  EXPECT_EQ(emu.connectionsAccepted(), 2U);  // the token, then one kept-alive connection
  const Reply keys = client.get("/metadata/v1/keys?version=2024-11-12", Client::bearer(token));
  EXPECT_EQ(keys.json()["keys"].Size(), doc["keys"].Size());
}

TEST(EmulatorScenarioFiles, BadScenarioNamesAndFilesFailToStart) {
  for (const std::string& scenario :
       {std::string("no-such-scenario"), std::string("/nonexistent/x.json")}) {
    Options o;
    o.scenario = scenario;
    Emulator emu(o);
    const auto s = emu.start();
    ASSERT_FALSE(s.ok()) << scenario;
    EXPECT_NE(s.error().message.find(scenario), std::string::npos) << s.error().message;
  }
  char path[] = "/tmp/emulator-bad-scenario-XXXXXX.json";
  const int fd = ::mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  const std::string text = R"({"instance": [1, 2], "keys": {}})";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  Options o;
  o.scenario = path;
  Emulator emu(o);
  const auto s = emu.start();
  ::unlink(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("\"instance\" must be an object"), std::string::npos)
      << s.error().message;
}

}  // namespace
}  // namespace mdfs::emu
