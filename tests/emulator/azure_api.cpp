#include "emulator/azure_api.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <set>

#include "emulator/api.h"
#include "emulator/crypto.h"
#include "emulator/document_tree.h"
#include "emulator/identity_api.h"
#include "emulator/scenario.h"

namespace mdfs::emu {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// "Supported API versions" of the instance endpoint (instance-metadata-service.md), newest
// first: the error for a missing or unknown version names the first three.
constexpr std::array<std::string_view, 35> kInstanceVersions = {
    "2025-04-07", "2024-07-17", "2024-03-15", "2023-11-15", "2023-07-01", "2021-12-13",
    "2021-11-15", "2021-11-01", "2021-10-01", "2021-08-01", "2021-05-01", "2021-03-01",
    "2021-02-01", "2021-01-01", "2020-12-01", "2020-10-01", "2020-09-01", "2020-07-15",
    "2020-06-01", "2019-11-01", "2019-08-15", "2019-08-01", "2019-06-04", "2019-06-01",
    "2019-04-30", "2019-03-11", "2019-02-01", "2018-10-01", "2018-04-02", "2018-02-01",
    "2017-12-01", "2017-10-01", "2017-08-01", "2017-04-02", "2017-03-01"};
// Scheduled events and managed identity have versions of their own.
constexpr std::array<std::string_view, 5> kEventVersions = {
    "2020-07-01", "2019-08-01", "2019-01-01", "2017-11-01", "2017-08-01"};
constexpr std::array<std::string_view, 2> kIdentityVersions = {"2019-08-01", "2018-02-01"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, const std::string* v) {
  return v != nullptr && std::find(list.begin(), list.end(), *v) != list.end();
}

HttpResponse json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A JSON string literal. (Not named quoted: with a std::string argument, argument-dependent
// lookup prefers std::quoted when <iomanip> comes in, as it does with gcc 14.)
std::string jsonText(std::string_view s) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {buf.GetString(), buf.GetSize()};
}

HttpResponse badRequest(std::string_view message) {
  return json(400, R"({"error":)" + jsonText(message) + "}");
}

HttpResponse identityError(int status, std::string_view code, std::string_view description) {
  return json(status, R"({"error":)" + jsonText(code) + R"(,"error_description":)" +
                          jsonText(description) + "}");
}

template <std::size_t N>
HttpResponse versionError(const std::array<std::string_view, N>& versions) {
  std::string body =
      R"({"error":"Bad request. api-version is invalid or was not specified in the request. )"
      R"(For more information refer to aka.ms/azureimds","newest-versions":[)";
  for (std::size_t i = 0; i < std::min<std::size_t>(3, N); ++i)
    body += (i ? "," : "") + jsonText(versions[i]);
  return json(400, body + "]}");
}

bool metadataHeader(const HttpRequest& request) {
  const std::string* v = request.header("Metadata");
  if (v == nullptr) return false;
  std::string lower = *v;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "true";
}

bool duplicateParameter(const HttpRequest& request) {
  std::set<std::string> seen;
  for (const auto& [name, value] : request.params) {
    if (!seen.insert(name).second) return true;
  }
  return false;
}

// format=text on a container: its names, "/" after those that contain more [infer].
std::string textListing(const Value& v) {
  std::string out;
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      out.append(m.name.GetString(), m.name.GetStringLength());
      out += isContainer(m.value) ? "/\n" : "\n";
    }
  } else {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      out += std::to_string(i) + (isContainer(v[i]) ? "/\n" : "\n");
  }
  return out;
}

}  // namespace

std::string AzurePersonality::randomKey() {
  return randomBytes(32);
}

HttpResponse AzurePersonality::error(int status, std::string message) const {
  return json(status, R"({"error":)" + jsonText(message) + "}");
}

HttpResponse AzurePersonality::serve(const HttpRequest& request) const {
  // msal-node canonicalizes an overridden IMDS URL with a trailing slash [infer: IMDS
  // accepts both].
  const bool identity = request.path == "/metadata/identity/oauth2/token" ||
                        request.path == "/metadata/identity/oauth2/token/";
  if (!metadataHeader(request) || request.header("X-Forwarded-For") != nullptr) {
    const char* what = request.header("X-Forwarded-For") != nullptr
                           ? "Bad request. Requests with an X-Forwarded-For header are refused"
                           : "Bad request. Required metadata header not specified";
    if (identity) return identityError(400, "invalid_request", what + 13);
    return badRequest(what);
  }
  if (request.method != "GET") {
    HttpResponse r = error(405, "Bad request. Method not allowed.");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  if (duplicateParameter(request)) {
    return badRequest("Bad request. Duplicate query parameter names are not allowed.");
  }
  if (request.path == "/metadata/versions") {
    std::string body = R"({"apiVersions":[)";
    for (std::size_t i = kInstanceVersions.size(); i-- > 0;)
      body += jsonText(kInstanceVersions[i]) + (i ? "," : "");
    return json(200, body + "]}");
  }
  if (identity) return identityToken(request);
  if (request.path == "/metadata/scheduledevents") return scheduledEvents(request);
  if (request.path == "/metadata/instance" || request.path.starts_with("/metadata/instance/")) {
    return instance(request);
  }
  return error(404, "Not found");
}

HttpResponse AzurePersonality::instance(const HttpRequest& request) const {
  if (!contains(kInstanceVersions, request.param("api-version"))) {
    return versionError(kInstanceVersions);
  }
  const std::string* format = request.param("format");
  if (format != nullptr && *format != "json" && *format != "text") {
    return badRequest("Bad request. Unsupported format: " + *format);
  }
  const bool text = format != nullptr && *format == "text";
  const auto segments = splitPath(request.path);  // "metadata", "instance", …
  return context_.store.read([&](const Value& doc) -> HttpResponse {
    const Value* base = walk(doc, {"metadata", "instance"});
    const Value* v = base != nullptr ? walk(*base, segments, 2) : nullptr;
    if (v == nullptr) return error(404, "Not found");
    if (!isContainer(*v) && !text) {
      // Leaves answer only with format=text (instance-metadata-service.md, Route parameters).
      return badRequest(
          "Bad request. Query parameter format=json is not supported for leaf "
          "nodes; use format=text.");
    }
    HttpResponse r;
    if (text) {
      r.body = isContainer(*v) ? textListing(*v) : leafText(*v);
      r.content_type = "text/plain; charset=utf-8";
    } else {
      r.body = toJson(*v);
    }
    return r;
  });
}

HttpResponse AzurePersonality::scheduledEvents(const HttpRequest& request) const {
  if (!contains(kEventVersions, request.param("api-version"))) return versionError(kEventVersions);
  return context_.store.read([&](const Value& doc) {
    const Value* events = walk(doc, {"metadata", "scheduledevents"});
    return json(200,
                events != nullptr ? toJson(*events) : R"({"DocumentIncarnation":0,"Events":[]})");
  });
}

HttpResponse AzurePersonality::identityToken(const HttpRequest& request) const {
  if (!contains(kIdentityVersions, request.param("api-version"))) {
    return identityError(400, "invalid_request",
                         "Required query variable 'api-version' is missing or invalid");
  }
  const std::string* resource = request.param("resource");
  if (resource == nullptr || resource->empty()) {
    return identityError(400, "invalid_request", "Required query variable 'resource' is missing");
  }
  struct Identity {
    std::string client_id, object_id, msi_res_id, tenant_id;
    bool found = false;
  };
  const Identity id = context_.store.read([&](const Value& doc) {
    Identity out;
    const Value* mi = member(doc, "managed_identity");
    if (mi == nullptr || !mi->IsObject()) return out;
    const auto text = [&](const char* name) {
      const Value* v = member(*mi, name);
      return v != nullptr ? leafText(*v) : std::string();
    };
    out =
        Identity{text("client_id"), text("object_id"), text("msi_res_id"), text("tenant_id"), true};
    return out;
  });
  // A user-assigned identity is chosen by one of three parameters; none may name another.
  const auto names_other = [&](const char* param, const std::string& own) {
    const std::string* v = request.param(param);
    return v != nullptr && *v != own;
  };
  if (!id.found || names_other("client_id", id.client_id) ||
      names_other("object_id", id.object_id) || names_other("msi_res_id", id.msi_res_id)) {
    return identityError(400, "invalid_request", "Identity not found");
  }
  const std::int64_t now = epochSeconds(context_.clock.wall());
  const std::int64_t lifetime = context_.token_settings.iam_lifetime_s.load();
  rapidjson::StringBuffer claims;
  Writer c(claims);
  c.StartObject();
  for (const auto& [k, v] : {std::pair<const char*, std::string>{"aud", *resource},
                             {"iss", "https://sts.windows.net/" + id.tenant_id + "/"},
                             {"oid", id.object_id},
                             {"sub", id.object_id},
                             {"tid", id.tenant_id},
                             {"appid", id.client_id},
                             {"xms_mirid", id.msi_res_id}}) {
    c.Key(k);
    c.String(v);
  }
  c.Key("iat");
  c.Int64(now);
  c.Key("nbf");
  c.Int64(now);
  c.Key("exp");
  c.Int64(now + lifetime);
  c.EndObject();
  const std::string token =
      signJwt(R"({"typ":"JWT","alg":"RS256","kid":")" + contentTag(signing_key_) + R"("})",
              std::string(claims.GetString(), claims.GetSize()), signing_key_);
  const std::string life = std::to_string(lifetime);
  return json(200, R"({"access_token":)" + jsonText(token) + R"(,"client_id":)" +
                       jsonText(id.client_id) + R"(,"expires_in":")" + life +
                       R"(","expires_on":")" + std::to_string(now + lifetime) +
                       R"(","ext_expires_in":")" + life + R"(","not_before":")" +
                       std::to_string(now) + R"(","resource":)" + jsonText(*resource) +
                       R"(,"token_type":"Bearer"})");
}

}  // namespace mdfs::emu
