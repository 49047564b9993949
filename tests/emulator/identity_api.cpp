#include "emulator/identity_api.h"

#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <set>

#include "emulator/crypto.h"

namespace mdfs::emu {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::int64_t kDefaultExpiresIn = 300;
constexpr std::int64_t kMinExpiresIn = 5;
constexpr std::int64_t kMaxExpiresIn = 3600;
constexpr const char* kMoreInfo = "https://cloud.ibm.com/docs/vpc?topic=vpc-imd-configure-service";

ApiError fieldError(std::string code, std::string message, std::string field,
                    std::optional<std::string> value = std::nullopt) {
  ApiError e;
  e.code = std::move(code);
  e.message = std::move(message);
  e.target = ApiTarget{std::move(field), "field", std::move(value)};
  e.more_info = kMoreInfo;
  return e;
}

struct TokenRequest {
  std::int64_t expires_in = kDefaultExpiresIn;
  std::optional<std::string> nonce;
};

ApiResult<TokenRequest> parseTokenRequest(const HttpRequest& request) {
  rapidjson::Document body;
  if (auto error = parseJsonBody(request.body, body)) return *error;
  TokenRequest out;
  for (const auto& m : body.GetObject()) {
    const std::string name = m.name.GetString();
    if (name == "expires_in") {
      const std::string text = toJson(m.value);
      if (!m.value.IsInt64()) {
        return fieldError("invalid_value", "The `expires_in` field must be an integer.",
                          "expires_in", text);
      }
      out.expires_in = m.value.GetInt64();
      if (out.expires_in > kMaxExpiresIn) {
        return fieldError("invalid_value", "The `expires_in` field must not exceed `3600`.",
                          "expires_in", text);
      }
      if (out.expires_in < kMinExpiresIn) {
        return fieldError("invalid_value", "The `expires_in` field must be at least `5`.",
                          "expires_in", text);
      }
    } else if (name == "nonce") {
      if (!m.value.IsString()) {
        return fieldError("invalid_value", "The `nonce` field must be a string.", "nonce");
      }
      out.nonce = m.value.GetString();
    } else {
      return fieldError("unknown_field", "The `" + name + "` field is not supported.", name);
    }
  }
  return out;
}

std::string accountOf(const Value& doc) {
  const std::string crn = stringAt(doc, "/instance/crn");
  const auto p = crn.find(":a/");
  if (p == std::string::npos) return {};
  return crn.substr(p + 3, crn.find(':', p + 3) - (p + 3));
}

std::string regionOf(const Value& doc) {
  const std::string zone = stringAt(doc, "/instance/zone/name");
  return zone.substr(0, zone.rfind('-'));
}

void writeReference(Writer& w, const Value* ref) {
  w.StartObject();
  for (const char* key : {"crn", "name", "id"}) {
    w.Key(key);
    const Value* v = ref != nullptr ? member(*ref, key) : nullptr;
    w.String(v != nullptr && v->IsString() ? v->GetString() : "");
  }
  w.EndObject();
}

// Subnets and addresses of the instance, as the identity token's claims list them.
void writeNetworkClaims(Writer& w, const Value& doc) {
  std::set<std::string> seen_subnets;
  std::vector<std::string> addresses;
  w.Key("subnets");
  w.StartArray();
  if (const Value* nics = member(doc, "network_interfaces"); nics != nullptr) {
    for (const auto& nic : nics->GetArray()) {
      const Value* subnet = member(nic, "subnet");
      const Value* id = subnet != nullptr ? member(*subnet, "id") : nullptr;
      if (id != nullptr && id->IsString() && seen_subnets.insert(id->GetString()).second) {
        writeReference(w, subnet);
      }
      if (const Value* ip = member(nic, "primary_ipv4_address"); ip != nullptr && ip->IsString()) {
        addresses.emplace_back(ip->GetString());
      }
      if (const Value* fips = member(nic, "floating_ips"); fips != nullptr && fips->IsArray()) {
        for (const auto& fip : fips->GetArray()) {
          if (const Value* a = member(fip, "address"); a != nullptr && a->IsString()) {
            addresses.emplace_back(a->GetString());
          }
        }
      }
    }
  }
  w.EndArray();
  w.Key("ip_addresses");
  w.StartArray();
  for (const auto& a : addresses) {
    w.StartObject();
    w.Key("address");
    w.String(a);
    w.EndObject();
  }
  w.EndArray();
}

std::string identityClaims(const Value& doc, std::int64_t iat, std::int64_t exp,
                           const std::optional<std::string>& nonce) {
  const std::string region = regionOf(doc);
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("iss");
  w.String("VSI-CR_" + region);
  w.Key("aud");
  w.StartArray();
  w.String("VSI-CR_" + region);
  w.String(uuid4() + "_" + std::to_string(iat));
  w.EndArray();
  w.Key("sub");
  w.String(stringAt(doc, "/instance/crn"));
  w.Key("jti");
  w.String(uuid4());
  w.Key("iat");
  w.Int64(iat);
  w.Key("exp");
  w.Int64(exp);
  if (nonce) {
    w.Key("nonce");
    w.String(*nonce);
  }
  w.Key("iaas");
  w.StartObject();
  w.Key("crn");
  w.String(stringAt(doc, "/instance/crn"));
  w.Key("accountID");
  w.String(accountOf(doc));
  w.Key("instanceID");
  w.String(stringAt(doc, "/instance/id"));
  w.Key("zone");
  w.String(stringAt(doc, "/instance/zone/name"));
  w.Key("region");
  w.String(region);
  w.Key("profile_name");
  w.String(stringAt(doc, "/instance/profile/name"));
  w.Key("resource_group_id");
  w.String(stringAt(doc, "/instance/resource_group/id"));
  w.EndObject();
  w.Key("vpc");
  writeReference(w, rapidjson::Pointer("/instance/vpc").Get(doc));
  writeNetworkClaims(w, doc);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

struct Profile {
  std::string id;
  std::string crn;
};

// The default trusted profile (implicitly linked) first, then the linked ones.
std::vector<Profile> linkedProfiles(const Value& doc) {
  std::vector<Profile> out;
  if (const Value* target =
          rapidjson::Pointer("/initialization/default_trusted_profile/target").Get(doc)) {
    out.push_back({stringAt(*target, "/id"), stringAt(*target, "/crn")});
  }
  if (const Value* linked = member(doc, "linked_trusted_profiles"); linked != nullptr) {
    for (const auto& p : linked->GetArray())
      out.push_back({stringAt(p, "/id"), stringAt(p, "/crn")});
  }
  return out;
}

ApiResult<Profile> chooseProfile(const HttpRequest& request, const Value& doc) {
  rapidjson::Document body;
  if (auto error = parseJsonBody(request.body, body)) return *error;
  const Value* wanted = nullptr;
  for (const auto& m : body.GetObject()) {
    const std::string name = m.name.GetString();
    if (name != "trusted_profile") {
      return fieldError("unknown_field", "The `" + name + "` field is not supported.", name);
    }
    wanted = &m.value;
  }
  const auto profiles = linkedProfiles(doc);
  const bool has_default =
      member(doc, "initialization") != nullptr &&
      rapidjson::Pointer("/initialization/default_trusted_profile/target").Get(doc) != nullptr;
  if (wanted == nullptr) {
    if (!has_default) {
      return fieldError("missing_field", "A trusted profile ID was not passed in the request body.",
                        "trusted_profile.id");
    }
    return profiles.front();
  }
  if (!wanted->IsObject()) {
    return fieldError("invalid_value", "The `trusted_profile` field must be an object.",
                      "trusted_profile");
  }
  std::optional<std::string> id;
  std::optional<std::string> crn;
  for (const auto& m : wanted->GetObject()) {
    const std::string name = m.name.GetString();
    if ((name != "id" && name != "crn") || !m.value.IsString()) {
      return fieldError(name == "id" || name == "crn" ? "invalid_value" : "unknown_field",
                        "The `trusted_profile." + name + "` field is not supported.",
                        "trusted_profile." + name);
    }
    (name == "id" ? id : crn) = std::string(m.value.GetString());
  }
  if (!id && !crn) {
    return fieldError("missing_field", "A trusted profile ID was not passed in the request body.",
                      "trusted_profile.id");
  }
  const auto match = std::find_if(profiles.begin(), profiles.end(), [&](const Profile& p) {
    return (!id || p.id == *id) && (!crn || p.crn == *crn);
  });
  if (match == profiles.end()) {
    const std::string field = id ? "trusted_profile.id" : "trusted_profile.crn";
    const std::string value = id ? *id : *crn;
    return fieldError("profile_not_linked",
                      "The trusted profile `" + value + "` is not linked to this instance.", field,
                      value);
  }
  return *match;
}

std::string iamClaims(const Profile& profile, const std::string& account, std::int64_t iat,
                      std::int64_t exp) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("iam_id");
  w.String("iam-" + profile.id);
  w.Key("id");
  w.String("iam-" + profile.id);
  w.Key("realmid");
  w.String("iam");
  w.Key("jti");
  w.String(uuid4());
  w.Key("identifier");
  w.String(profile.id);
  w.Key("sub");
  w.String(profile.id);
  w.Key("sub_type");
  w.String("Profile");
  w.Key("account");
  w.StartObject();
  w.Key("valid");
  w.Bool(true);
  w.Key("bss");
  w.String(account);
  w.EndObject();
  w.Key("iat");
  w.Int64(iat);
  w.Key("exp");
  w.Int64(exp);
  w.Key("iss");
  w.String("https://iam.cloud.ibm.com/identity");
  w.Key("grant_type");
  w.String("urn:ibm:params:oauth:grant-type:cr-token");
  w.Key("scope");
  w.String("ibm openid");
  w.Key("client_id");
  w.String("default");
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string tokenResponse(const std::string& token, WallTime created, std::int64_t expires_in,
                          const std::optional<std::string>& nonce,
                          const std::string& reported_expires_in) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("access_token");
  w.String(token);
  w.Key("created_at");
  w.String(rfc3339(created));
  w.Key("expires_at");
  w.String(rfc3339(created + Seconds(expires_in)));
  w.Key("expires_in");
  if (reported_expires_in.empty()) {
    w.Int64(expires_in);
  } else {
    w.RawValue(reported_expires_in.data(), reported_expires_in.size(), rapidjson::kNumberType);
  }
  if (nonce) {
    w.Key("nonce");
    w.String(*nonce);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

void TokenTable::add(const std::string& token, TokenKind kind, Seconds lifetime) {
  std::lock_guard lock(mu_);
  tokens_[token] = Entry{kind, clock_.steady() + lifetime};
  if (tokens_.size() >= prune_at_) pruneExpired();
}

bool TokenTable::valid(std::string_view token, TokenKind kind) const {
  std::lock_guard lock(mu_);
  const auto it = tokens_.find(std::string(token));
  return it != tokens_.end() && it->second.kind == kind && clock_.steady() < it->second.expires;
}

void TokenTable::expireAll() {
  std::lock_guard lock(mu_);
  tokens_.clear();
}

void TokenTable::pruneExpired() {
  const SteadyTime now = clock_.steady();
  std::erase_if(tokens_, [&](const auto& entry) { return entry.second.expires <= now; });
  // Many live tokens (a benchmark): prune again only after the table doubled.
  prune_at_ = std::max<std::size_t>(4096, tokens_.size() * 2);
}

IdentityApi::IdentityApi(const Clock& clock, const ScenarioStore& store, TokenTable& tokens,
                         const TokenSettings& settings)
    : clock_(clock),
      store_(store),
      tokens_(tokens),
      settings_(settings),
      signing_key_(randomBytes(32)) {}

HttpResponse IdentityApi::createToken(const HttpRequest& request, bool legacy) const {
  const std::string* flavor = request.header("Metadata-Flavor");
  if (flavor == nullptr || flavor->empty()) {
    ApiError e;
    e.code = "missing_value";
    e.message = "A value such as `ibm` must be provided in the `Metadata-Flavor` header.";
    e.target = ApiTarget{"Metadata-Flavor", "header", std::nullopt};
    e.more_info = kMoreInfo;
    return errorResponse(e);
  }
  if (*flavor != "ibm") {
    ApiError e;
    e.code = "invalid_value";
    e.message = "The `Metadata-Flavor` header must be `ibm`.";
    e.target = ApiTarget{"Metadata-Flavor", "header", *flavor};
    e.more_info = kMoreInfo;
    return errorResponse(e);
  }
  auto parsed = parseTokenRequest(request);
  if (const auto* error = std::get_if<ApiError>(&parsed)) return errorResponse(*error);
  const auto& req = std::get<TokenRequest>(parsed);
  std::int64_t expires_in = req.expires_in;
  if (const auto cap = settings_.identity_cap_s.load(); cap > 0)
    expires_in = std::min(expires_in, cap);

  const WallTime now = clock_.wall();
  const std::int64_t iat = epochSeconds(now);
  const std::string claims = store_.read(
      [&](const Value& doc) { return identityClaims(doc, iat, iat + expires_in, req.nonce); });
  const std::string token =
      signJwt(R"({"alg":"HS256","kid":"VSI-CR_emulator","typ":"JWT"})", claims, signing_key_);
  tokens_.add(token, TokenKind::identity, Seconds(expires_in));
  return jsonResponse(
      legacy ? settings_.legacy_token_status.load() : 201,
      tokenResponse(token, now, expires_in, req.nonce, settings_.reportedExpiresIn()));
}

HttpResponse IdentityApi::createIamToken(const HttpRequest& request, bool legacy) const {
  std::string account;
  auto chosen = store_.read([&](const Value& doc) {
    account = accountOf(doc);
    return chooseProfile(request, doc);
  });
  if (const auto* error = std::get_if<ApiError>(&chosen)) return errorResponse(*error);
  const std::int64_t lifetime = std::max<std::int64_t>(1, settings_.iam_lifetime_s.load());
  const WallTime now = clock_.wall();
  const std::int64_t iat = epochSeconds(now);
  const std::string token =
      signJwt(R"({"alg":"HS256","kid":"emulator","typ":"JWT"})",
              iamClaims(std::get<Profile>(chosen), account, iat, iat + lifetime), signing_key_);
  tokens_.add(token, TokenKind::iam, Seconds(lifetime));
  return jsonResponse(legacy ? 200 : 201, tokenResponse(token, now, lifetime, std::nullopt, {}));
}

}  // namespace mdfs::emu
