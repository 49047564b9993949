#include "emulator/aws_api.h"

#include <array>
#include <charconv>

#include "emulator/crypto.h"
#include "emulator/document_tree.h"
#include "emulator/identity_api.h"
#include "emulator/scenario.h"

namespace mdfs::emu {
namespace {

using rapidjson::Value;

constexpr std::string_view kTokenPath = "/latest/api/token";
constexpr std::string_view kTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
constexpr std::string_view kTokenHeader = "X-aws-ec2-metadata-token";
constexpr std::int64_t kMaxTtl = 21600;

// Versions IMDS lists at "/" (instancedata-data-retrieval.md); each serves the same tree.
constexpr std::array<std::string_view, 26> kVersions = {
    "1.0",        "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
    "2008-02-01", "2008-09-01", "2009-04-04", "2011-01-01", "2011-05-01", "2012-01-12",
    "2014-02-25", "2014-11-05", "2015-10-20", "2016-04-19", "2016-06-30", "2016-09-02",
    "2018-03-28", "2018-08-17", "2018-09-24", "2019-10-01", "2020-10-27", "2021-01-03",
    "2021-03-23", "latest"};

// Paths below /latest/ whose value is one JSON document ('*' matches one segment).
constexpr std::array<std::string_view, 9> kJsonLeaves = {
    "meta-data/iam/info",
    "meta-data/iam/security-credentials/*",
    "meta-data/identity-credentials/ec2/info",
    "meta-data/identity-credentials/ec2/security-credentials/*",
    "meta-data/spot/instance-action",
    "meta-data/events/maintenance/scheduled",
    "meta-data/events/maintenance/history",
    "meta-data/events/recommendations/rebalance",
    "dynamic/instance-identity/document",
};

bool isJsonLeaf(const std::vector<std::string>& segments, std::size_t first) {
  for (const std::string_view pattern : kJsonLeaves) {
    const auto parts = splitPath(pattern);
    if (parts.size() != segments.size() - first) continue;
    bool all = true;
    for (std::size_t i = 0; i < parts.size() && all; ++i)
      all = parts[i] == "*" || parts[i] == segments[first + i];
    if (all) return true;
  }
  return false;
}

bool knownVersion(std::string_view v) {
  for (const auto known : kVersions)
    if (known == v) return true;
  return false;
}

HttpResponse text(std::string body, std::string content_type = "text/plain") {
  HttpResponse r;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i)
    out += (i ? "\n" : "") + lines[i];
  return out;
}

// `public-keys/`: "0=name" per key, no trailing slash (instancedata-data-retrieval.md).
std::string publicKeysListing(const Value& keys) {
  std::vector<std::string> lines;
  for (rapidjson::SizeType i = 0; i < keys.Size(); ++i) {
    const Value* name = member(keys[i], "name");
    lines.push_back(std::to_string(i) + "=" + (name != nullptr ? leafText(*name) : ""));
  }
  return join(lines);
}

// `segments` start with the version ("latest").
std::string listing(const Value& dir, const std::vector<std::string>& segments) {
  const bool in_key = segments.size() == 4 && segments[2] == "public-keys";
  const bool top = segments.size() == 1;  // /latest/ lists its names bare
  std::vector<std::string> lines;
  for (const auto& m : dir.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (in_key && name == "name") continue;
    auto child = segments;
    child.push_back(name);
    const bool subdir = isContainer(m.value) && !isJsonLeaf(child, 1) && !top;
    lines.push_back(subdir ? name + "/" : name);
  }
  return join(lines);
}

}  // namespace

HttpResponse AwsPersonality::error(int status, std::string message) const {
  (void)message;  // IMDS answers with a bare status page
  std::string title = std::to_string(status) + " - ";
  switch (status) {
    case 400:
      title += "Bad Request";
      break;
    case 401:
      title += "Unauthorized";
      break;
    case 403:
      title += "Forbidden";
      break;
    case 404:
      title += "Not Found";
      break;
    case 405:
      title += "Method Not Allowed";
      break;
    case 429:
      title += "Too Many Requests";
      break;
    case 503:
      title += "Service Unavailable";
      break;
    default:
      title += status >= 500 ? "Internal Server Error" : "Error";
      break;
  }
  HttpResponse r = text(
      "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
      "\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
      "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
      " <head>\n  <title>" +
          title + "</title>\n </head>\n <body>\n  <h1>" + title + "</h1>\n </body>\n</html>\n",
      "text/html");
  r.status = status;
  return r;
}

void AwsPersonality::decorate(HttpResponse& response) const {
  response.headers.emplace_back("Server", "EC2ws");
}

HttpResponse AwsPersonality::serve(const HttpRequest& request) const {
  const bool token_route = request.path.ends_with("/api/token");
  if (request.method == "PUT") {
    if (request.path == kTokenPath) return createToken(request);
    // A PUT to a version-specific token path is refused (instancedata-data-retrieval.md).
    return error(token_route ? 403 : 405, "");
  }
  if (request.method != "GET" && request.method != "HEAD") return error(405, "");
  if (request.path == kTokenPath) return error(405, "");
  const std::string* token = request.header(kTokenHeader);
  if (token != nullptr ? !context_.tokens.valid(*token, TokenKind::aws_session)
                       : !context_.switches.aws_imdsv1.load()) {
    return error(401, "");
  }
  return get(request);
}

HttpResponse AwsPersonality::createToken(const HttpRequest& request) const {
  if (request.header("X-Forwarded-For") != nullptr) return error(403, "");
  const std::string* ttl_text = request.header(kTtlHeader);
  std::int64_t ttl = 0;
  if (ttl_text == nullptr) return error(400, "");
  const auto [end, ec] =
      std::from_chars(ttl_text->data(), ttl_text->data() + ttl_text->size(), ttl);
  if (ec != std::errc() || end != ttl_text->data() + ttl_text->size() || ttl < 1 || ttl > kMaxTtl) {
    return error(400, "");
  }
  const std::int64_t cap = context_.token_settings.identity_cap_s.load();
  const std::int64_t granted = cap > 0 ? std::min(ttl, cap) : ttl;
  std::string token = base64(randomBytes(42));
  context_.tokens.add(token, TokenKind::aws_session, Seconds(granted));
  HttpResponse r = text(std::move(token));
  r.headers.emplace_back(std::string(kTtlHeader), std::to_string(granted));
  return r;
}

HttpResponse AwsPersonality::get(const HttpRequest& request) const {
  const auto segments = splitPath(request.path);
  if (segments.empty()) {
    std::vector<std::string> versions(kVersions.begin(), kVersions.end());
    return text(join(versions));
  }
  if (!knownVersion(segments[0])) return error(404, "");
  return context_.store.read([&](const Value& doc) -> HttpResponse {
    const Value* latest = member(doc, "latest");
    const Value* v = latest != nullptr ? walk(*latest, segments, 1) : nullptr;
    if (v == nullptr || segments.size() == 1) {
      if (v != nullptr && v->IsObject()) return text(listing(*v, segments));
      return error(404, "");
    }
    if (isJsonLeaf(segments, 1) && isContainer(*v)) return text(awsStyleJson(*v));
    if (v->IsArray() && segments.back() == "public-keys") return text(publicKeysListing(*v));
    if (v->IsObject()) return text(listing(*v, segments));
    if (v->IsArray()) return error(404, "");
    if (segments.size() == 2 && segments[1] == "user-data") {
      return text(leafText(*v), "application/octet-stream");
    }
    return text(leafText(*v));
  });
}

}  // namespace mdfs::emu
