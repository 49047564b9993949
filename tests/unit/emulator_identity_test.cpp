// The emulated identity API over real HTTP: token creation on both path families and
// their version gates, request validation, token validity, and the IAM token exchange.
#include <gtest/gtest.h>

#include <regex>

#include "emulator/api.h"
#include "emulator/emulator.h"
#include "emulator/testing.h"

namespace mdfs::emu {
namespace {

using testing::Client;
using testing::Reply;

constexpr const char* kDocProfile = "Profile-8dd84246-7df4-4667-94e4-8cede51d5ac5";
constexpr const char* kDefaultProfile = "Profile-3f1c9a7e-2d4b-4e8f-9a6c-1b5d7e9f0a2c";

std::string base64UrlDecode(std::string_view in) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) return "<invalid>";
    buffer = (buffer << 6U) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
    }
  }
  return out;
}

// The JSON of segment `index` (0 header, 1 claims) of a JWT.
Reply jwtPart(const std::string& jwt, int index) {
  Reply r;
  const auto first = jwt.find('.');
  const auto second = jwt.find('.', first + 1);
  EXPECT_NE(second, std::string::npos) << "not a JWT: " << jwt;
  EXPECT_EQ(jwt.find('.', second + 1), std::string::npos);
  r.body = base64UrlDecode(index == 0 ? jwt.substr(0, first)
                                      : jwt.substr(first + 1, second - first - 1));
  return r;
}

bool isRfc3339(const std::string& s) {
  static const std::regex re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z)");
  return std::regex_match(s, re);
}

class EmulatorIdentity : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emu.start().ok()); }

  Client client() { return Client(emu.url()); }
  Reply putToken(const std::string& path, const std::string& body = "",
                 const httplib::Headers& headers = {{"Metadata-Flavor", "ibm"}},
                 const char* content_type = "application/json") {
    return client().put(path, body, headers, content_type);
  }
  Reply postIam(const std::string& path, const std::string& token, const std::string& body = "") {
    return client().post(path, body, Client::bearer(token));
  }

  FakeClock clock;
  Emulator emu{[this] {
    Options o;
    o.clock = &clock;
    return o;
  }()};
};

TEST_F(EmulatorIdentity, LegacyTokenPutAnswers200WithAccessTokenAndTimes) {
  const Reply r =
      putToken("/instance_identity/v1/token?version=2024-11-12", R"({"expires_in": 3600})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_FALSE(r.header("X-Request-Id").empty());
  EXPECT_FALSE(r.at("/access_token").empty());
  EXPECT_EQ(r.at("/expires_in"), "3600");
  EXPECT_TRUE(isRfc3339(r.at("/created_at"))) << r.at("/created_at");
  EXPECT_TRUE(isRfc3339(r.at("/expires_at"))) << r.at("/expires_at");
  EXPECT_EQ(r.at("/expires_at"), rfc3339(clock.wall() + Seconds(3600)));
}

TEST_F(EmulatorIdentity, NewTokenPutAnswers201) {
  const Reply r = putToken("/identity/v1/token?version=2025-08-26", R"({"expires_in": 60})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.at("/expires_in"), "60");
}

TEST_F(EmulatorIdentity, LegacyPathsAnswer404FromVersion20250826) {
  EXPECT_EQ(putToken("/instance_identity/v1/token?version=2025-08-25").status, 200);
  const Reply gone = putToken("/instance_identity/v1/token?version=2025-08-26");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.errorCode(), "not_found");
  EXPECT_EQ(putToken("/instance_identity/v1/token?version=2026-01-30").status, 404);

  const std::string token = client().token();
  EXPECT_EQ(postIam("/instance_identity/v1/iam_token?version=2025-08-25", token).status, 200);
  EXPECT_EQ(postIam("/instance_identity/v1/iam_token?version=2025-08-26", token).status, 404);
}

TEST_F(EmulatorIdentity, NewPathsWorkForEveryVersion) {
  for (const char* version : {"2022-03-01", "2024-11-12", "2025-08-26", "2099-12-31"}) {
    const Reply r = putToken(std::string("/identity/v1/token?version=") + version);
    ASSERT_EQ(r.status, 201) << version << ": " << r.body;
    EXPECT_EQ(
        postIam(std::string("/identity/v1/iam_tokens?version=") + version, r.at("/access_token"))
            .status,
        201)
        << version;
  }
}

TEST_F(EmulatorIdentity, TokenPutRequiresMetadataFlavor) {
  for (const char* path : {"/identity/v1/token?version=2024-11-12",
                           "/instance_identity/v1/token?version=2024-11-12"}) {
    const Reply missing = putToken(path, "", {});
    EXPECT_EQ(missing.status, 400) << path;
    EXPECT_EQ(missing.errorCode(), "missing_value");
    EXPECT_EQ(missing.at("/errors/0/target/name"), "Metadata-Flavor");
    EXPECT_EQ(missing.at("/errors/0/target/type"), "header");
    const Reply wrong = putToken(path, "", {{"Metadata-Flavor", "Google"}});
    EXPECT_EQ(wrong.status, 400);
    EXPECT_EQ(wrong.errorCode(), "invalid_value");
  }
}

TEST_F(EmulatorIdentity, MetadataFlavorIsNotRequiredElsewhere) {
  const std::string token = client().token();
  EXPECT_EQ(client().get("/metadata/v1/instance?version=2024-11-12", Client::bearer(token)).status,
            200);
  EXPECT_EQ(postIam("/identity/v1/iam_tokens?version=2024-11-12", token).status, 201);
}

TEST_F(EmulatorIdentity, ExpiresInDefaultsTo300AndAcceptsTheBounds) {
  EXPECT_EQ(putToken("/identity/v1/token?version=2024-11-12").at("/expires_in"), "300");
  EXPECT_EQ(putToken("/identity/v1/token?version=2024-11-12", "  \n").at("/expires_in"), "300");
  EXPECT_EQ(putToken("/identity/v1/token?version=2024-11-12", "{}").at("/expires_in"), "300");
  EXPECT_EQ(
      putToken("/identity/v1/token?version=2024-11-12", R"({"expires_in":5})").at("/expires_in"),
      "5");
  EXPECT_EQ(
      putToken("/identity/v1/token?version=2024-11-12", R"({"expires_in":3600})").at("/expires_in"),
      "3600");
}

TEST_F(EmulatorIdentity, ExpiresInOutsideTheBoundsIs400InvalidValue) {
  for (const char* value : {"4", "0", "-1", "3601", "7200", "\"60\"", "1.5", "null"}) {
    const Reply r = putToken("/identity/v1/token?version=2024-11-12",
                             std::string(R"({"expires_in":)") + value + "}");
    EXPECT_EQ(r.status, 400) << value;
    EXPECT_EQ(r.errorCode(), "invalid_value") << value;
    EXPECT_EQ(r.at("/errors/0/target/name"), "expires_in");
    EXPECT_EQ(r.at("/errors/0/target/type"), "field");
  }
  const Reply over = putToken("/identity/v1/token?version=2024-11-12", R"({"expires_in":7200})");
  EXPECT_EQ(over.at("/errors/0/message"), "The `expires_in` field must not exceed `3600`.");
  EXPECT_EQ(over.at("/errors/0/target/value"), "7200");
}

TEST_F(EmulatorIdentity, BodyIsJsonWhateverTheContentType) {
  // IBM's curl example: -d '{…}' goes out as a form.
  const Reply form =
      putToken("/instance_identity/v1/token?version=2024-11-12", "{\n  \"expires_in\": 3600\n}",
               {{"Metadata-Flavor", "ibm"}}, "application/x-www-form-urlencoded");
  ASSERT_EQ(form.status, 200) << form.body;
  EXPECT_EQ(form.at("/expires_in"), "3600");
  const Reply text = putToken("/identity/v1/token?version=2024-11-12", R"({"expires_in":42})",
                              {{"Metadata-Flavor", "ibm"}}, "text/plain");
  EXPECT_EQ(text.at("/expires_in"), "42");
}

TEST_F(EmulatorIdentity, UnparseableBodyIs400InvalidRequest) {
  for (const char* body : {"{", "expires_in=60", "[1,2]", "\"text\""}) {
    const Reply r = putToken("/identity/v1/token?version=2024-11-12", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.errorCode(), "invalid_request") << body;
  }
}

TEST_F(EmulatorIdentity, UnknownBodyFieldIs400UnknownField) {
  const Reply r = putToken("/identity/v1/token?version=2024-11-12", R"({"expires_in":60,"ttl":5})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.errorCode(), "unknown_field");
  EXPECT_EQ(r.at("/errors/0/target/name"), "ttl");
}

TEST_F(EmulatorIdentity, NonceIsEchoedAndSigned) {
  const Reply r = putToken("/identity/v1/token?version=2026-06-23", R"({"nonce":"n-123"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.at("/nonce"), "n-123");
  EXPECT_EQ(jwtPart(r.at("/access_token"), 1).at("/nonce"), "n-123");
}

TEST_F(EmulatorIdentity, IdentityTokenIsAJwtWithTheDocumentedClaims) {
  const Reply r = putToken("/identity/v1/token?version=2024-11-12", R"({"expires_in":120})");
  const std::string jwt = r.at("/access_token");
  EXPECT_EQ(jwtPart(jwt, 0).at("/typ"), "JWT");
  const Reply claims = jwtPart(jwt, 1);
  ASSERT_FALSE(claims.json().HasParseError()) << claims.body;
  EXPECT_EQ(claims.at("/iss"), "VSI-CR_us-south");
  EXPECT_EQ(claims.at("/aud/0"), "VSI-CR_us-south");
  const auto iat = std::stoll(claims.at("/iat"));
  EXPECT_EQ(std::stoll(claims.at("/exp")), iat + 120);
  EXPECT_EQ(iat, std::chrono::duration_cast<Seconds>(clock.wall().time_since_epoch()).count());
  EXPECT_EQ("\"" + claims.at("/iaas/instanceID") + "\"", *emu.data("/instance/id"));
  EXPECT_EQ("\"" + claims.at("/iaas/crn") + "\"", *emu.data("/instance/crn"));
  EXPECT_EQ(claims.at("/iaas/accountID"), "8e2a1f04c6b34d9c9b5e7a3d0f12c4e6");
  EXPECT_EQ(claims.at("/iaas/zone"), "us-south-1");
  EXPECT_EQ(claims.at("/iaas/region"), "us-south");
  EXPECT_EQ(claims.at("/iaas/profile_name"), "bx2-4x16");
  EXPECT_FALSE(claims.at("/iaas/resource_group_id").empty());
  EXPECT_FALSE(claims.at("/vpc/id").empty());
  EXPECT_EQ(claims.at("/ip_addresses/0/address"), "10.240.0.4");
}

TEST_F(EmulatorIdentity, EveryAuthenticatedRouteRefusesMissingUnknownOrMalformedTokens) {
  const std::string iam =
      postIam("/identity/v1/iam_tokens?version=2024-11-12", client().token()).at("/access_token");
  const std::vector<httplib::Headers> bad = {
      {},
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Bearer not-a-token"}},
      {{"Authorization", "Basic dXNlcjpwYXNz"}},
      Client::bearer(iam),  // an IAM token is not an identity token
  };
  for (const auto& headers : bad) {
    for (const char* path :
         {"/metadata/v1/instance?version=2024-11-12", "/metadata/v1/keys?version=2024-11-12",
          "/metadata/v1/placement_groups/"
          "r006-418fe842-a3e9-47b9-a938-1aa5bd632871?version=2024-11-12"}) {
      const Reply r = client().get(path, headers);
      EXPECT_EQ(r.status, 401) << path;
      EXPECT_EQ(r.errorCode(), "unauthenticated");
    }
    for (const char* path : {"/identity/v1/iam_tokens?version=2024-11-12",
                             "/instance_identity/v1/iam_token?version=2024-11-12"}) {
      const Reply r = client().post(path, "", headers);
      EXPECT_EQ(r.status, 401) << path;
      EXPECT_EQ(r.errorCode(), "unauthenticated");
    }
  }
}

TEST_F(EmulatorIdentity, TokensExpireWithTheClock) {
  const std::string token = client().token(testing::kVersion, R"({"expires_in":5})");
  const auto get = [&] {
    return client().get("/metadata/v1/instance?version=2024-11-12", Client::bearer(token)).status;
  };
  EXPECT_EQ(get(), 200);
  clock.advance(Seconds(4));
  EXPECT_EQ(get(), 200);
  clock.advance(Seconds(1));
  EXPECT_EQ(get(), 401);
}

TEST_F(EmulatorIdentity, ExpireAllTokensInvalidatesIdentityAndIamTokens) {
  const std::string token = client().token();
  const std::string iam =
      postIam("/identity/v1/iam_tokens?version=2024-11-12", token).at("/access_token");
  EXPECT_TRUE(emu.iamTokenValid(iam));
  emu.expireAllTokens();
  EXPECT_FALSE(emu.iamTokenValid(iam));
  EXPECT_EQ(client().get("/metadata/v1/instance?version=2024-11-12", Client::bearer(token)).status,
            401);
  EXPECT_EQ(client().getAuthed("/metadata/v1/instance?version=2024-11-12").status, 200);
}

TEST_F(EmulatorIdentity, TokenLifetimesCapIdentityAndSetIam) {
  emu.setTokenLifetimes(Seconds(10), Seconds(60));
  const Reply id = putToken("/identity/v1/token?version=2024-11-12", R"({"expires_in":3600})");
  EXPECT_EQ(id.at("/expires_in"), "10");
  const Reply iam = postIam("/identity/v1/iam_tokens?version=2024-11-12", id.at("/access_token"));
  EXPECT_EQ(iam.at("/expires_in"), "60");
  clock.advance(Seconds(60));
  EXPECT_FALSE(emu.iamTokenValid(iam.at("/access_token")));
}

TEST_F(EmulatorIdentity, LegacyTokenStatusIsConfigurable) {
  emu.setLegacyTokenStatus(201);
  EXPECT_EQ(putToken("/instance_identity/v1/token?version=2024-11-12").status, 201);
}

TEST_F(EmulatorIdentity, IamTokenForTheDefaultProfileWithoutBody) {
  const Reply r = postIam("/identity/v1/iam_tokens?version=2025-08-26", client().token());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(r.at("/expires_in"), "3600");
  EXPECT_TRUE(isRfc3339(r.at("/created_at")));
  EXPECT_TRUE(isRfc3339(r.at("/expires_at")));
  const Reply claims = jwtPart(r.at("/access_token"), 1);
  EXPECT_EQ(claims.at("/sub"), kDefaultProfile);
  EXPECT_EQ(claims.at("/iam_id"), std::string("iam-") + kDefaultProfile);
  EXPECT_EQ(claims.at("/sub_type"), "Profile");
  EXPECT_EQ(claims.at("/iss"), "https://iam.cloud.ibm.com/identity");
  EXPECT_EQ(claims.at("/account/bss"), "8e2a1f04c6b34d9c9b5e7a3d0f12c4e6");
  EXPECT_EQ(std::stoll(claims.at("/exp")) - std::stoll(claims.at("/iat")), 3600);
  EXPECT_TRUE(emu.iamTokenValid(r.at("/access_token")));
}

TEST_F(EmulatorIdentity, IamTokenForLinkedProfilesByIdAndByCrn) {
  const std::string token = client().token();
  const std::string crn =
      std::string(
          "crn:v1:bluemix:public:iam-identity::a/8e2a1f04c6b34d9c9b5e7a3d0f12c4e6::profile:") +
      kDocProfile;
  for (const std::string& body :
       {std::string(R"({"trusted_profile":{"id":")") + kDocProfile + "\"}}",
        std::string(R"({"trusted_profile":{"crn":")") + crn + "\"}}",
        std::string(R"({"trusted_profile":{"id":")") + kDocProfile + R"(","crn":")" + crn +
            "\"}}"}) {
    const Reply r = postIam("/instance_identity/v1/iam_token?version=2024-11-12", token, body);
    ASSERT_EQ(r.status, 200) << body << ": " << r.body;
    EXPECT_EQ(jwtPart(r.at("/access_token"), 1).at("/sub"), kDocProfile);
  }
}

TEST_F(EmulatorIdentity, UnlinkedProfileIs400ProfileNotLinked) {
  const std::string token = client().token();
  for (
      const char* body :
      {R"({"trusted_profile":{"id":"Profile-00000000-0000-4000-8000-000000000000"}})",
       R"({"trusted_profile":{"crn":"crn:v1:bluemix:public:iam-identity::a/x::profile:Profile-1"}})"}) {
    const Reply r = postIam("/identity/v1/iam_tokens?version=2024-11-12", token, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.errorCode(), "profile_not_linked") << body;
  }
}

TEST_F(EmulatorIdentity, NoProfileAtAllIs400MissingField) {
  ASSERT_TRUE(emu.deleteData("/initialization/default_trusted_profile").ok());
  const std::string token = client().token();
  for (const char* body : {"", "{}", R"({"trusted_profile":{}})"}) {
    const Reply r = postIam("/identity/v1/iam_tokens?version=2024-11-12", token, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.errorCode(), "missing_field") << body;
    EXPECT_EQ(r.at("/errors/0/message"),
              "A trusted profile ID was not passed in the request body.");
  }
  // Linked profiles still work without a default.
  EXPECT_EQ(postIam("/identity/v1/iam_tokens?version=2024-11-12", token,
                    std::string(R"({"trusted_profile":{"id":")") + kDocProfile + "\"}}")
                .status,
            201);
}

TEST_F(EmulatorIdentity, IamRequestWithUnknownFieldIs400) {
  const Reply r =
      postIam("/identity/v1/iam_tokens?version=2024-11-12", client().token(), R"({"profile":"x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.errorCode(), "unknown_field");
}

TEST_F(EmulatorIdentity, IamCheckControlRouteAcceptsOnlyLiveIamTokens) {
  const std::string token = client().token();
  const std::string iam =
      postIam("/identity/v1/iam_tokens?version=2024-11-12", token).at("/access_token");
  EXPECT_EQ(client().get("/_emulator/iam/check", Client::bearer(iam)).status, 200);
  EXPECT_EQ(client().get("/_emulator/iam/check", Client::bearer(token)).status, 401);
  EXPECT_EQ(client().get("/_emulator/iam/check").status, 401);
  clock.advance(Seconds(3600));
  EXPECT_EQ(client().get("/_emulator/iam/check", Client::bearer(iam)).status, 401);
}

TEST_F(EmulatorIdentity, VersionRuleOnIdentityRoutes) {
  for (const char* path : {"/identity/v1/token", "/instance_identity/v1/token"}) {
    const Reply missing = putToken(path);
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(missing.errorCode(), "missing_field");
    EXPECT_EQ(missing.at("/errors/0/target/name"), "version");
    for (const char* bad : {"2024-13-01", "2023-02-29", "20240101", "latest", "2024-1-01"}) {
      const Reply r = putToken(std::string(path) + "?version=" + bad);
      EXPECT_EQ(r.status, 400) << bad;
      EXPECT_EQ(r.errorCode(), "invalid_value") << bad;
    }
    const Reply old = putToken(std::string(path) + "?version=2022-02-28");
    EXPECT_EQ(old.status, 400);
    EXPECT_EQ(old.errorCode(), "invalid_version_range");
    EXPECT_EQ(old.at("/errors/0/message"), "The `version` value cannot be before `2022-03-01`.");
  }
  EXPECT_EQ(putToken("/identity/v1/token?version=2024-02-29").status, 201);  // a leap day
}

TEST_F(EmulatorIdentity, WrongMethodIs405) {
  const Reply r = client().get("/identity/v1/token?version=2024-11-12");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "PUT");
}

}  // namespace
}  // namespace mdfs::emu

namespace mdfs::emu {
namespace {

// curl -X POST without -d, and clients like the IBM CLI, send no Content-Length at all:
// HTTP/1.1 says such a request has no body, so the answer must come at once.
TEST(EmulatorRequestBodies, RequestsWithoutContentLengthHaveNoBody) {
  Emulator emulator{Options{}};
  ASSERT_TRUE(emulator.start().ok());
  testing::Client http(emulator.url());
  const std::string token = http.token("2025-08-26");
  ASSERT_FALSE(token.empty());
  const std::string put =
      "PUT /identity/v1/token?version=2025-08-26 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Metadata-Flavor: ibm\r\nConnection: close\r\n\r\n";
  const std::string post =
      "POST /identity/v1/iam_tokens?version=2025-08-26 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      token + "\r\nConnection: close\r\n\r\n";
  for (const std::string& request : {put, post}) {
    const auto start = std::chrono::steady_clock::now();
    auto reply = testing::rawExchange(emulator.port(), request);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    EXPECT_EQ(reply.received.rfind("HTTP/1.1 201", 0), 0U) << reply.received.substr(0, 200);
    EXPECT_NE(reply.received.find("access_token"), std::string::npos);
  }
}

}  // namespace
}  // namespace mdfs::emu
