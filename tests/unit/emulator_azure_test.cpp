// The Azure personality over real HTTP: Metadata: true and no X-Forwarded-For,
// api-version (missing, unknown, current), route parameters into the instance document,
// format=text for leaves, userData in base64, scheduled events, the managed-identity
// token, the shipped scenarios, faults (410, 429) and controls.
#include <gtest/gtest.h>

#include <string>

#include "emulator/crypto.h"
#include "emulator/emulator.h"
#include "emulator/testing.h"

namespace mdfs::emu {
namespace {

using namespace std::chrono_literals;
using testing::Client;
using testing::Reply;

const httplib::Headers kMetadata = {{"Metadata", "true"}};
constexpr const char* kApi = "api-version=2025-04-07";

Options azureOptions(const std::string& scenario = "default") {
  Options o;
  o.cloud = Cloud::azure;
  o.scenario = scenario;
  return o;
}

class EmulatorAzure : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emu.start().ok()); }
  Reply get(const std::string& path_and_query) {
    return Client(emu.url()).get(path_and_query, kMetadata);
  }
  Reply instance(const std::string& rest, const std::string& extra = "") {
    return get("/metadata/instance" + rest + "?" + kApi + extra);
  }

  Emulator emu{azureOptions()};
};

TEST_F(EmulatorAzure, RequestsNeedMetadataTrueAndNoXForwardedFor) {
  Client c(emu.url());
  const std::string url = std::string("/metadata/instance?") + kApi;
  const Reply missing = c.get(url);
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.at("/error"), "Bad request. Required metadata header not specified");
  EXPECT_EQ(c.get(url, {{"Metadata", "false"}}).status, 400);
  EXPECT_EQ(c.get(url, {{"Metadata", "true"}, {"X-Forwarded-For", "10.0.0.9"}}).status, 400);
  EXPECT_EQ(c.get(url, {{"Metadata", "True"}}).status, 200);
  EXPECT_EQ(c.post(url, "", kMetadata).status, 405);
}

TEST_F(EmulatorAzure, ApiVersionIsRequiredAndMustBeSupported) {
  const Reply none = get("/metadata/instance");
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.at("/newest-versions/0"), "2025-04-07");
  EXPECT_EQ(get("/metadata/instance?api-version=2016-01-01").status, 400);
  EXPECT_EQ(get("/metadata/instance?api-version=2021-02-01").status, 200);
  EXPECT_EQ(get("/metadata/instance?api-version=2025-04-07&api-version=2021-02-01").status, 400);
  const Reply versions = get("/metadata/versions");
  EXPECT_EQ(versions.status, 200);
  EXPECT_EQ(versions.at("/apiVersions/0"), "2017-03-01");
}

TEST_F(EmulatorAzure, TheInstanceDocumentAndRouteParameters) {
  const Reply doc = instance("");
  ASSERT_EQ(doc.status, 200);
  EXPECT_EQ(doc.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(doc.at("/compute/vmId"), "5c08b38e-4d57-4c23-ac45-aca61037f084");
  EXPECT_EQ(doc.at("/network/interface/0/ipv4/ipAddress/0/publicIpAddress"), "20.61.15.9");
  EXPECT_EQ(instance("/compute").at("/vmSize"), "Standard_D2s_v5");
  EXPECT_EQ(instance("/network/interface/0").at("/macAddress"), "6045BDA1C2D3");
  EXPECT_EQ(instance("/compute/nothing").status, 404);
  EXPECT_EQ(instance("/network/interface/7").status, 404);
}

TEST_F(EmulatorAzure, LeavesNeedFormatText) {
  EXPECT_EQ(instance("/compute/vmId").status, 400);
  EXPECT_EQ(instance("/compute/vmId", "&format=json").status, 400);
  const Reply text = instance("/compute/vmId", "&format=text");
  EXPECT_EQ(text.status, 200);
  EXPECT_EQ(text.body, "5c08b38e-4d57-4c23-ac45-aca61037f084");
  EXPECT_EQ(text.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(instance("/compute/tags", "&format=text").body, "env:test;team:platform");
  EXPECT_EQ(instance("/compute", "&format=xml").status, 400);
}

TEST_F(EmulatorAzure, UserDataIsBase64) {
  const std::string encoded = instance("/compute/userData", "&format=text").body;
  EXPECT_EQ(encoded, base64("#cloud-config\npackages:\n  - nginx\nruncmd:\n"
                            "  - [systemctl, enable, --now, nginx]\n"));
}

TEST_F(EmulatorAzure, ScheduledEventsHaveTheirOwnVersions) {
  EXPECT_EQ(get("/metadata/scheduledevents?api-version=2025-04-07").status, 400);
  const Reply events = get("/metadata/scheduledevents?api-version=2020-07-01");
  ASSERT_EQ(events.status, 200);
  EXPECT_EQ(events.at("/DocumentIncarnation"), "2");
  EXPECT_EQ(events.at("/Events/0/EventType"), "Freeze");
}

TEST_F(EmulatorAzure, ManagedIdentityToken) {
  const std::string path = "/metadata/identity/oauth2/token?api-version=2018-02-01";
  const Reply r = get(path + "&resource=https://management.azure.com/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.at("/token_type"), "Bearer");
  EXPECT_EQ(r.at("/resource"), "https://management.azure.com/");
  EXPECT_EQ(r.at("/expires_in"), "3600");
  EXPECT_EQ(r.at("/client_id"), "0d9b6f3e-2a1c-4b7d-9e8f-1a2b3c4d5e6f");
  EXPECT_EQ(std::stoll(r.at("/expires_on")) - std::stoll(r.at("/not_before")), 3600);
  const std::string token = r.at("/access_token");
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);

  EXPECT_EQ(get(path).at("/error"), "invalid_request");
  EXPECT_EQ(Client(emu.url()).get(path + "&resource=x").at("/error_description"),
            "Required metadata header not specified");
  EXPECT_EQ(get(path + "&resource=x&client_id=0d9b6f3e-2a1c-4b7d-9e8f-1a2b3c4d5e6f").status, 200);
  EXPECT_EQ(get(path + "&resource=x&client_id=someone-else").at("/error_description"),
            "Identity not found");
  EXPECT_EQ(get("/metadata/identity/oauth2/token?api-version=2025-04-07&resource=x").status, 400);
  emu.setTokenLifetimes(0s, 120s);
  EXPECT_EQ(get(path + "&resource=x").at("/expires_in"), "120");
}

TEST_F(EmulatorAzure, FaultsAnswerInAzureShape) {
  Fault updating;  // "IMDS is updating": retry for up to 70 s
  updating.kind = Fault::Kind::status;
  updating.path = "/metadata/instance*";
  updating.status = 410;
  updating.count = 2;
  emu.addFault(updating);
  const Reply r = instance("");
  EXPECT_EQ(r.status, 410);
  EXPECT_FALSE(r.at("/error").empty());
  EXPECT_EQ(instance("").status, 410);
  EXPECT_EQ(instance("").status, 200);

  Fault limited;
  limited.kind = Fault::Kind::status;
  limited.status = 429;
  limited.retry_after_s = 1;
  limited.count = 1;
  emu.addFault(limited);
  const Reply busy = instance("");
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.header("Retry-After"), "1");
}

TEST_F(EmulatorAzure, CountersAndControlApi) {
  emu.resetCounters();
  (void)instance("/compute/name", "&format=text");
  EXPECT_EQ(emu.requests("GET", "/metadata/instance/compute/name"), 1U);
  Client c(emu.url());
  EXPECT_EQ(c.get("/_emulator/cloud").at("/cloud"), "azure");
  EXPECT_EQ(c.put("/_emulator/data?pointer=/metadata/instance/compute/name", R"("renamed")").status,
            200);
  EXPECT_EQ(instance("/compute/name", "&format=text").body, "renamed");
}

TEST(EmulatorAzureScenarios, ThePrivateScenarioHasEmptyPublicIpAndUserData) {
  Emulator emu(azureOptions("azure-private"));
  ASSERT_TRUE(emu.start().ok());
  Client c(emu.url());
  const auto text = [&](const std::string& path) {
    return c.get("/metadata/instance" + path + "?" + kApi + "&format=text", kMetadata).body;
  };
  EXPECT_EQ(text("/network/interface/0/ipv4/ipAddress/0/publicIpAddress"), "");
  EXPECT_EQ(text("/network/interface/0/ipv4/ipAddress/0/privateIpAddress"), "10.1.0.4");
  EXPECT_EQ(text("/compute/userData"), "");
  EXPECT_EQ(
      c.get("/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x", kMetadata).status,
      400);
}

}  // namespace
}  // namespace mdfs::emu
