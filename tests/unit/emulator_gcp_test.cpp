// The Google Compute Engine personality over real HTTP: Metadata-Flavor both ways, text
// listings, the 301 for a directory without its slash, recursive JSON in camelCase with
// attribute keys kept, alt=text, ids above 2^53, ETags and wait_for_change, service
// account tokens, the shipped scenarios, faults (503, impostor) and controls.
#include <gtest/gtest.h>

#include <future>
#include <string>

#include "emulator/emulator.h"
#include "emulator/testing.h"

namespace mdfs::emu {
namespace {

using namespace std::chrono_literals;
using testing::Client;
using testing::Reply;

const httplib::Headers kFlavor = {{"Metadata-Flavor", "Google"}};
constexpr const char* kV1 = "/computeMetadata/v1";

Options gcpOptions(const std::string& scenario = "default") {
  Options o;
  o.cloud = Cloud::gcp;
  o.scenario = scenario;
  return o;
}

class EmulatorGcp : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emu.start().ok()); }
  Reply get(const std::string& path) { return Client(emu.url()).get(kV1 + path, kFlavor); }

  Emulator emu{gcpOptions()};
};

TEST_F(EmulatorGcp, RequestsNeedMetadataFlavorGoogleAndAnswersCarryIt) {
  Client c(emu.url());
  const Reply refused = c.get(std::string(kV1) + "/instance/hostname");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.header("Metadata-Flavor"), "Google");
  EXPECT_EQ(c.get(std::string(kV1) + "/instance/hostname", {{"Metadata-Flavor", "ibm"}}).status,
            403);
  EXPECT_EQ(c.get(std::string(kV1) + "/instance/hostname",
                  {{"Metadata-Flavor", "Google"}, {"X-Forwarded-For", "10.0.0.9"}})
                .status,
            403);
  const Reply ok = get("/instance/hostname");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "mdfs-test-1.europe-west1-b.c.mdfs-demo-project.internal");
  EXPECT_EQ(ok.header("Metadata-Flavor"), "Google");
  EXPECT_EQ(ok.header("Content-Type"), "application/text");
  EXPECT_EQ(get("/instance/nothing").header("Metadata-Flavor"), "Google");
  EXPECT_EQ(get("/instance/nothing").status, 404);
  EXPECT_EQ(c.post(std::string(kV1) + "/instance/hostname", "", kFlavor).status, 405);
}

TEST_F(EmulatorGcp, ListingsUsePathNamesAndMarkDirectories) {
  EXPECT_EQ(Client(emu.url()).get("/", kFlavor).body, "computeMetadata/\n");
  EXPECT_EQ(Client(emu.url()).get("/computeMetadata/", kFlavor).body, "v1/\n");
  EXPECT_EQ(get("/").body, "instance/\nproject/\n");
  const std::string instance = get("/instance/").body;
  for (const char* line : {"attributes/", "machine-type", "network-interfaces/", "id", "zone",
                           "service-accounts/", "scheduling/", "disks/"}) {
    EXPECT_NE(("\n" + instance).find("\n" + std::string(line) + "\n"), std::string::npos) << line;
  }
  EXPECT_EQ(get("/instance/network-interfaces/").body, "0/\n");
  EXPECT_EQ(get("/instance/network-interfaces/0/access-configs/0/external-ip").body,
            "34.78.112.45");
  EXPECT_EQ(get("/instance/attributes/").body,
            "block-project-ssh-keys\nenable-oslogin\nssh-keys\nstartup-script\nuser-data\n");
}

TEST_F(EmulatorGcp, ADirectoryWithoutItsSlashIsRedirected) {
  Client c(emu.url());
  const Reply r = c.get(std::string(kV1) + "/instance", kFlavor);
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("Location"), emu.url() + kV1 + "/instance/");
  EXPECT_EQ(r.header("Metadata-Flavor"), "Google");
}

TEST_F(EmulatorGcp, IdsAboveTwoToThe53AreExact) {
  EXPECT_EQ(get("/instance/id").body, "4520031799277581759");
  EXPECT_NE(get("/instance/?recursive=true").body.find(R"("id":4520031799277581759,)"),
            std::string::npos);
  EXPECT_EQ(get("/project/numeric-project-id").body, "612349876543");
}

TEST_F(EmulatorGcp, RecursiveJsonIsCamelCaseExceptAttributeKeys) {
  const Reply r = get("/instance/?recursive=true");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.at("/machineType"), "projects/612349876543/machineTypes/e2-standard-2");
  EXPECT_EQ(r.at("/networkInterfaces/0/accessConfigs/0/externalIp"), "34.78.112.45");
  EXPECT_EQ(r.at("/attributes/block-project-ssh-keys"), "false");
  EXPECT_EQ(r.at("/serviceAccounts/default/email"),
            "612349876543-compute@developer.gserviceaccount.com");
  EXPECT_EQ(r.at("/machine-type"), "");
  EXPECT_EQ(get("/instance/attributes/?recursive=true").at("/ssh-keys").substr(0, 6), "alice:");
  // Recursive without the slash is answered too (clients ask for "instance?recursive=true").
  EXPECT_EQ(Client(emu.url()).get(std::string(kV1) + "/instance?recursive=true", kFlavor).status,
            200);
}

TEST_F(EmulatorGcp, AltTextAndAltJson) {
  const std::string text = get("/instance/scheduling/?recursive=true&alt=text").body;
  EXPECT_EQ(text, "automatic-restart TRUE\non-host-maintenance MIGRATE\npreemptible FALSE\n");
  EXPECT_EQ(get("/instance/name?alt=json").body, R"("mdfs-test-1")");
  EXPECT_EQ(get("/instance/service-accounts/default/scopes").body,
            "https://www.googleapis.com/auth/cloud-platform\n");
}

TEST_F(EmulatorGcp, SshKeysOfInstanceAndProject) {
  const std::string keys = get("/instance/attributes/ssh-keys").body;
  EXPECT_EQ(keys.substr(0, 18), "alice:ssh-ed25519 ");
  EXPECT_NE(keys.find("\ndeploy:ssh-rsa "), std::string::npos);
  EXPECT_EQ(get("/project/attributes/ssh-keys").body.substr(0, 18), "carol:ssh-ed25519 ");
  EXPECT_EQ(get("/instance/attributes/user-data").body.substr(0, 13), "#cloud-config");
}

TEST_F(EmulatorGcp, EtagsChangeExactlyWhenContentChanges) {
  const std::string a = get("/instance/hostname").header("ETag");
  EXPECT_EQ(a.size(), 16U);
  EXPECT_EQ(get("/instance/hostname").header("ETag"), a);
  ASSERT_TRUE(emu.setData("/computeMetadata/v1/instance/description", R"("other")").ok());
  EXPECT_EQ(get("/instance/hostname").header("ETag"), a);  // another value changed
  ASSERT_TRUE(emu.setData("/computeMetadata/v1/instance/hostname", R"("h2")").ok());
  const std::string b = get("/instance/hostname").header("ETag");
  EXPECT_NE(b, a);
  ASSERT_TRUE(emu.setData("/computeMetadata/v1/instance/hostname",
                          R"("mdfs-test-1.europe-west1-b.c.mdfs-demo-project.internal")")
                  .ok());
  EXPECT_EQ(get("/instance/hostname").header("ETag"), a);  // same content, same tag
}

TEST_F(EmulatorGcp, WaitForChangeHangsUntilTheValueChanges) {
  const std::string etag = get("/instance/attributes/").header("ETag");
  auto waiting = std::async(std::launch::async, [&] {
    return get("/instance/attributes/?wait_for_change=true&last_etag=" + etag + "&timeout_sec=20");
  });
  EXPECT_EQ(waiting.wait_for(300ms), std::future_status::timeout);
  // A change elsewhere does not answer the wait.
  ASSERT_TRUE(emu.setData("/computeMetadata/v1/instance/description", R"("x")").ok());
  EXPECT_EQ(waiting.wait_for(300ms), std::future_status::timeout);
  ASSERT_TRUE(emu.setData("/computeMetadata/v1/instance/attributes/role", R"("db")").ok());
  ASSERT_EQ(waiting.wait_for(5s), std::future_status::ready);
  const Reply r = waiting.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("role\n"), std::string::npos);
  EXPECT_NE(r.header("ETag"), etag);
}

TEST_F(EmulatorGcp, WaitForChangeEndsAfterTimeoutSecWithTheSameValue) {
  const Reply first = get("/instance/hostname");
  const auto start = std::chrono::steady_clock::now();
  const Reply r = get("/instance/hostname?wait_for_change=true&timeout_sec=1&last_etag=" +
                      first.header("ETag"));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, first.body);
  EXPECT_EQ(r.header("ETag"), first.header("ETag"));
}

TEST_F(EmulatorGcp, WaitForChangeWithAStaleEtagAnswersAtOnce) {
  const auto start = std::chrono::steady_clock::now();
  const Reply r = get("/instance/hostname?wait_for_change=true&last_etag=0000000000000000");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(get("/instance/hostname?wait_for_change=true&timeout_sec=zero").status, 400);
}

TEST_F(EmulatorGcp, StopReleasesALongPoll) {
  auto waiting = std::async(std::launch::async, [&] {
    return get("/instance/hostname?wait_for_change=true&timeout_sec=60");
  });
  EXPECT_EQ(waiting.wait_for(200ms), std::future_status::timeout);
  const auto start = std::chrono::steady_clock::now();
  emu.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(waiting.wait_for(5s), std::future_status::ready);
}

TEST_F(EmulatorGcp, ServiceAccountTokenAndIdentity) {
  EXPECT_EQ(get("/instance/service-accounts/").body,
            "default/\n612349876543-compute@developer.gserviceaccount.com/\n");
  EXPECT_EQ(get("/instance/service-accounts/default/").body,
            "aliases\nemail\nscopes\nidentity\ntoken\n");
  const Reply token = get("/instance/service-accounts/default/token");
  ASSERT_EQ(token.status, 200);
  EXPECT_EQ(token.header("Content-Type"), "application/json");
  EXPECT_EQ(token.at("/token_type"), "Bearer");
  EXPECT_EQ(token.at("/expires_in"), "3599");
  EXPECT_EQ(token.at("/access_token").substr(0, 7), "ya29.c.");
  EXPECT_EQ(get("/instance/service-accounts/612349876543-compute@developer.gserviceaccount.com/"
                "email")
                .body,
            "612349876543-compute@developer.gserviceaccount.com");
  EXPECT_EQ(get("/instance/service-accounts/default/identity").status, 400);
  const Reply id = get("/instance/service-accounts/default/identity?audience=https://example.com");
  EXPECT_EQ(id.status, 200);
  EXPECT_EQ(std::count(id.body.begin(), id.body.end(), '.'), 2);
  EXPECT_EQ(get("/instance/service-accounts/nobody/token").status, 404);
  // Tokens are not part of the recursive document.
  EXPECT_EQ(get("/instance/service-accounts/default/?recursive=true").at("/token"), "");
}

TEST_F(EmulatorGcp, FaultsKeepTheFlavorHeaderExceptImpostor) {
  Fault maintenance;
  maintenance.kind = Fault::Kind::status;
  maintenance.status = 503;
  maintenance.count = 1;
  emu.addFault(maintenance);
  const Reply r = get("/instance/hostname");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("Metadata-Flavor"), "Google");
  EXPECT_EQ(get("/instance/hostname").status, 200);

  Fault impostor;
  impostor.kind = Fault::Kind::impostor;
  impostor.count = 1;
  emu.addFault(impostor);
  const Reply fake = get("/instance/hostname");
  EXPECT_EQ(fake.status, 200);
  EXPECT_EQ(fake.header("Metadata-Flavor"), "");
  EXPECT_EQ(get("/instance/hostname").header("Metadata-Flavor"), "Google");
}

TEST_F(EmulatorGcp, CountersAndControlApi) {
  emu.resetCounters();
  (void)get("/instance/hostname");
  (void)get("/instance/?recursive=true");
  EXPECT_EQ(emu.requests("GET", "/computeMetadata/v1/instance/hostname"), 1U);
  EXPECT_EQ(emu.requests("GET", "/computeMetadata/v1/instance/"), 1U);
  Client c(emu.url());
  EXPECT_EQ(c.get("/_emulator/cloud").at("/cloud"), "gcp");
  EXPECT_EQ(
      c.put("/_emulator/data?pointer=/computeMetadata/v1/instance/attributes/k", R"("v")").status,
      200);
  EXPECT_EQ(get("/instance/attributes/k").body, "v");
  EXPECT_EQ(c.del("/_emulator/data?pointer=/computeMetadata/v1/instance/attributes/k").status, 200);
  EXPECT_EQ(get("/instance/attributes/k").status, 404);
}

TEST(EmulatorGcpScenarios, ThePrivateScenarioHasNoExternalIpAndBlocksProjectKeys) {
  Emulator emu(gcpOptions("gcp-private"));
  ASSERT_TRUE(emu.start().ok());
  Client c(emu.url());
  const std::string nic = std::string(kV1) + "/instance/network-interfaces/0/";
  EXPECT_EQ(c.get(nic + "access-configs/", kFlavor).body, "");
  EXPECT_EQ(c.get(nic + "ip", kFlavor).body, "10.132.0.7");
  EXPECT_EQ(c.get(std::string(kV1) + "/instance/attributes/block-project-ssh-keys", kFlavor).body,
            "true");
  EXPECT_EQ(c.get(std::string(kV1) + "/instance/attributes/user-data", kFlavor).status, 404);
  EXPECT_EQ(c.get(std::string(kV1) + "/instance/id", kFlavor).body, "9007199254740993");
}

}  // namespace
}  // namespace mdfs::emu
