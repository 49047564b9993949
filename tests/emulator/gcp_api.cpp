#include "emulator/gcp_api.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>

#include "emulator/api.h"
#include "emulator/crypto.h"
#include "emulator/document_tree.h"
#include "emulator/scenario.h"

namespace mdfs::emu {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::string_view kRoot = "computeMetadata";
constexpr std::string_view kVersion = "v1";
constexpr std::int64_t kMaxWaitSeconds = 3600;  // the emulator's own bound on a long poll

// Lists of plain values (a service account's scopes and aliases) are leaves with one
// value per line; lists of objects (network interfaces, disks) are directories.
bool isDir(const Value& v) {
  if (v.IsObject()) return true;
  if (!v.IsArray()) return false;
  for (const auto& e : v.GetArray()) {
    if (!isContainer(e)) return false;
  }
  return true;
}

std::string gcpLeafText(const Value& v) {
  if (!v.IsArray()) return leafText(v);
  std::string out;
  for (const auto& e : v.GetArray())
    out += leafText(e) + "\n";
  return out;
}

std::string kebabToCamel(std::string_view name) {
  std::string out;
  bool upper = false;
  for (const char c : name) {
    if (c == '-') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

// recursive=true: camelCase names, except below `attributes` (user-defined keys).
void writeRecursive(Writer& w, const Value& v, bool keep_names) {
  if (v.IsObject()) {
    w.StartObject();
    for (const auto& m : v.GetObject()) {
      const std::string name(m.name.GetString(), m.name.GetStringLength());
      const std::string key = keep_names ? name : kebabToCamel(name);
      w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      writeRecursive(w, m.value, name == "attributes");
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray())
      writeRecursive(w, e, false);
    w.EndArray();
  } else {
    v.Accept(w);
  }
}

std::string recursiveJson(const Value& v, bool keep_names) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  writeRecursive(w, v, keep_names);
  return {buf.GetString(), buf.GetSize()};
}

// recursive=true&alt=text: one "path value" line per leaf, path names as in URLs.
void recursiveText(const Value& v, const std::string& prefix, std::string& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      recursiveText(m.value,
                    prefix + std::string(m.name.GetString(), m.name.GetStringLength()) + "/", out);
    }
  } else if (isDir(v)) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      recursiveText(v[i], prefix + std::to_string(i) + "/", out);
  } else {
    out +=
        prefix.substr(0, prefix.size() - 1) + " " + (v.IsArray() ? toJson(v) : leafText(v)) + "\n";
  }
}

bool isAccountDir(const std::vector<std::string>& s) {
  return s.size() == 5 && s[2] == "instance" && s[3] == "service-accounts";
}

// Service accounts answer under their name ("default") and under their e-mail address.
const Value* resolveAccount(const Value& accounts, const std::string& name) {
  if (const Value* v = member(accounts, name)) return v;
  for (const auto& m : accounts.GetObject()) {
    const Value* email = member(m.value, "email");
    if (email != nullptr && email->IsString() && name == email->GetString()) return &m.value;
  }
  return nullptr;
}

const Value* walkGcp(const Value& v1, const std::vector<std::string>& s) {
  if (s.size() >= 5 && s[2] == "instance" && s[3] == "service-accounts") {
    const Value* accounts = walk(v1, {"instance", "service-accounts"});
    const Value* account = accounts != nullptr ? resolveAccount(*accounts, s[4]) : nullptr;
    return account != nullptr ? walk(*account, s, 5) : nullptr;
  }
  return walk(v1, s, 2);
}

std::string listing(const Value& dir, const std::vector<std::string>& s) {
  std::string out;
  for (const auto& m : dir.GetObject()) {
    out.append(m.name.GetString(), m.name.GetStringLength());
    out += isDir(m.value) ? "/\n" : "\n";
    if (s.size() == 4 && s[3] == "service-accounts") {
      const Value* email = member(m.value, "email");
      if (email != nullptr && email->IsString() && m.name != *email) {
        out += leafText(*email) + "/\n";
      }
    }
  }
  if (isAccountDir(s)) out += "identity\ntoken\n";
  return out;
}

std::string listingOfArray(const Value& dir) {
  std::string out;
  for (rapidjson::SizeType i = 0; i < dir.Size(); ++i)
    out += std::to_string(i) + "/\n";
  return out;
}

bool flagSet(const HttpRequest& request, std::string_view name) {
  const std::string* v = request.param(name);
  if (v == nullptr) return false;
  std::string lower = *v;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "true" || lower == "1";
}

}  // namespace

struct GcpPersonality::Rendered {
  HttpResponse response;
  std::string etag;
  std::uint64_t version = 0;
  bool waitable = false;  // a 200 that a long poll may hold
};

GcpPersonality::GcpPersonality(const PersonalityContext& context)
    : context_(context), signing_key_(randomBytes(32)) {}

HttpResponse GcpPersonality::error(int status, std::string message) const {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=UTF-8";
  r.body = "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error " +
           std::to_string(status) + "</title>\n  <p><b>" + std::to_string(status) +
           ".</b> <ins>That\xE2\x80\x99s an error.</ins>\n  <p>" + message +
           "  <ins>That\xE2\x80\x99s all we know.</ins>\n";
  return r;
}

void GcpPersonality::decorate(HttpResponse& response) const {
  response.headers.emplace_back("Metadata-Flavor", "Google");
  response.headers.emplace_back("Server", "Metadata Server for VM");
  response.headers.emplace_back("X-XSS-Protection", "0");
  response.headers.emplace_back("X-Frame-Options", "SAMEORIGIN");
}

HttpResponse GcpPersonality::serve(const HttpRequest& request) const {
  const std::string* flavor = request.header("Metadata-Flavor");
  if (flavor == nullptr || *flavor != "Google" || request.header("X-Forwarded-For") != nullptr) {
    return error(403, "Your client does not have permission to get URL <code>" + request.path +
                          "</code> from this server. Missing Metadata-Flavor:Google header.");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = error(405, "The request method " + request.method + " is not allowed.");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const auto s = splitPath(request.path);
  if (s.size() == 6 && s[2] == "instance" && s[3] == "service-accounts" &&
      (s[5] == "token" || s[5] == "identity")) {
    return accountToken(request, s[4], s[5] == "identity");
  }
  Rendered first = render(request);
  if (!flagSet(request, "wait_for_change") || !first.waitable) return std::move(first.response);
  return waitForChange(request, std::move(first));
}

GcpPersonality::Rendered GcpPersonality::render(const HttpRequest& request) const {
  const auto s = splitPath(request.path);
  const bool recursive = flagSet(request, "recursive");
  const std::string* alt = request.param("alt");
  const bool alt_text = alt != nullptr && *alt == "text";
  const bool alt_json = alt != nullptr && *alt == "json";
  return context_.store.read([&](const Value& doc) -> Rendered {
    Rendered out;
    out.version = context_.store.version();
    const Value* v1 = walk(doc, {std::string(kRoot), std::string(kVersion)});
    if (s.size() < 2 || s[0] != kRoot || s[1] != kVersion || v1 == nullptr) {
      if (s.empty()) out.response.body = std::string(kRoot) + "/\n";
      if (s.size() == 1 && s[0] == kRoot) out.response.body = std::string(kVersion) + "/\n";
      if (out.response.body.empty()) {
        out.response = error(404, "The requested URL <code>" + request.path +
                                      "</code> was not found on this server.");
      }
      out.response.content_type = "application/text";
      return out;
    }
    const Value* v = walkGcp(*v1, s);
    if (v == nullptr) {
      out.response = error(
          404, "The requested URL <code>" + request.path + "</code> was not found on this server.");
      return out;
    }
    out.etag = contentTag(toJson(*v));
    out.waitable = true;
    HttpResponse& r = out.response;
    r.content_type = "application/text";
    if (isDir(*v) && recursive) {
      if (alt_text) {
        recursiveText(*v, "", r.body);
      } else {
        r.body = recursiveJson(*v, s.back() == "attributes");
        r.content_type = "application/json";
      }
    } else if (isDir(*v) && !request.path.ends_with("/")) {
      // A directory asked for without its slash is redirected to the slash form.
      std::string location = request.origin() + request.path + "/";
      r.status = 301;
      r.content_type = "text/html; charset=UTF-8";
      r.headers.emplace_back("Location", location);
      r.body = "<a href=\"" + location + "\">Moved Permanently</a>.\n\n";
      out.waitable = false;
    } else if (isDir(*v)) {
      r.body = v->IsObject() ? listing(*v, s) : listingOfArray(*v);
    } else if (alt_json) {
      r.body = toJson(*v);
      r.content_type = "application/json";
    } else {
      r.body = gcpLeafText(*v);
    }
    if (r.status == 200) r.headers.emplace_back("ETag", out.etag);
    return out;
  });
}

HttpResponse GcpPersonality::waitForChange(const HttpRequest& request, Rendered first) const {
  const std::string* last_etag = request.param("last_etag");
  // Asked with a tag that is already stale: the current value at once.
  if (last_etag != nullptr && *last_etag != first.etag) return std::move(first.response);
  std::int64_t timeout = kMaxWaitSeconds;
  if (const std::string* t = request.param("timeout_sec")) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
    if (ec != std::errc() || end != t->data() + t->size() || v < 1) {
      return error(400, "Invalid timeout_sec: " + *t + ".");
    }
    timeout = std::min(v, kMaxWaitSeconds);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  const std::string baseline = first.etag;
  std::uint64_t seen = first.version;
  for (;;) {
    const bool keep = context_.store.waitForChange(seen, deadline);
    Rendered now = render(request);
    if (!keep || now.etag != baseline || !now.waitable ||
        std::chrono::steady_clock::now() >= deadline) {
      return std::move(now.response);
    }
    seen = now.version;  // another part of the document changed: keep waiting
  }
}

HttpResponse GcpPersonality::accountToken(const HttpRequest& request, const std::string& account,
                                          bool identity) const {
  struct Account {
    std::string email, project_id, project_number, instance_id, instance_name, zone;
    bool found = false;
  };
  const Account a = context_.store.read([&](const Value& doc) {
    Account out;
    const Value* v1 = walk(doc, {std::string(kRoot), std::string(kVersion)});
    const Value* accounts = v1 != nullptr ? walk(*v1, {"instance", "service-accounts"}) : nullptr;
    const Value* acc = accounts != nullptr ? resolveAccount(*accounts, account) : nullptr;
    if (acc == nullptr) return out;
    out.found = true;
    const auto text = [&](const Value* root, std::vector<std::string> path) {
      const Value* v = root != nullptr ? walk(*root, path) : nullptr;
      return v != nullptr ? leafText(*v) : std::string();
    };
    out.email = text(acc, {"email"});
    out.project_id = text(v1, {"project", "project-id"});
    out.project_number = text(v1, {"project", "numeric-project-id"});
    out.instance_id = text(v1, {"instance", "id"});
    out.instance_name = text(v1, {"instance", "name"});
    out.zone = text(v1, {"instance", "zone"});
    return out;
  });
  if (!a.found) {
    return error(404, "The requested URL <code>" + request.path + "</code> was not found.");
  }
  const std::int64_t now = epochSeconds(context_.clock.wall());
  HttpResponse r;
  if (!identity) {
    r.content_type = "application/json";
    r.body = R"({"access_token":"ya29.c.)" + base64Url(randomBytes(96)) +
             R"(","expires_in":3599,"token_type":"Bearer"})";
    return r;
  }
  const std::string* audience = request.param("audience");
  if (audience == nullptr || audience->empty()) {
    return error(400, "non-empty audience parameter required");
  }
  const std::string* format = request.param("format");
  // A stable numeric subject per account, shaped like Google's numeric unique ids.
  const std::string sub =
      "1" + std::to_string(std::stoull(contentTag(a.email).substr(0, 15), nullptr, 16));
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("aud");
  w.String(*audience);
  w.Key("azp");
  w.String(sub);
  w.Key("email");
  w.String(a.email);
  w.Key("email_verified");
  w.Bool(true);
  w.Key("exp");
  w.Int64(now + 3600);
  if (format != nullptr && *format == "full") {
    w.Key("google");
    w.StartObject();
    w.Key("compute_engine");
    w.StartObject();
    // A named string: a temporary bound to the pairs' references would die before the loop.
    const std::string zone = a.zone.substr(a.zone.rfind('/') + 1);
    for (const auto& [k, v] :
         {std::pair<const char*, const std::string&>{"instance_id", a.instance_id},
          {"instance_name", a.instance_name},
          {"project_id", a.project_id},
          {"project_number", a.project_number},
          {"zone", zone}}) {
      w.Key(k);
      w.String(v);
    }
    w.EndObject();
    w.EndObject();
  }
  w.Key("iat");
  w.Int64(now);
  w.Key("iss");
  w.String("https://accounts.google.com");
  w.Key("sub");
  w.String(sub);
  w.EndObject();
  r.body = signJwt(R"({"alg":"RS256","kid":")" + contentTag(signing_key_) + R"(","typ":"JWT"})",
                   std::string(buf.GetString(), buf.GetSize()), signing_key_);
  r.content_type = "application/text";
  return r;
}

}  // namespace mdfs::emu
