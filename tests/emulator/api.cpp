#include "emulator/api.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "emulator/crypto.h"

namespace mdfs::emu {
namespace {

bool isLeap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysIn(int y, int m) {
  constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : days[static_cast<std::size_t>(m - 1)];
}

}  // namespace

ApiError versionError(std::string code, std::string message, ApiTarget target) {
  ApiError e;
  e.code = std::move(code);
  e.message = std::move(message);
  e.target = std::move(target);
  return e;
}

HttpResponse errorResponse(const ApiError& error) {
  const std::string trace = uuid4();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("errors");
  w.StartArray();
  w.StartObject();
  w.Key("code");
  w.String(error.code);
  w.Key("message");
  w.String(error.message);
  if (!error.more_info.empty()) {
    w.Key("more_info");
    w.String(error.more_info);
  }
  if (error.target) {
    w.Key("target");
    w.StartObject();
    w.Key("name");
    w.String(error.target->name);
    w.Key("type");
    w.String(error.target->type);
    if (error.target->value) {
      w.Key("value");
      w.String(*error.target->value);
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndArray();
  w.Key("trace");
  w.String(trace);
  w.EndObject();
  HttpResponse r;
  r.status = error.status;
  r.body.assign(buf.GetString(), buf.GetSize());
  r.headers = error.headers;
  r.headers.emplace_back("X-Request-Id", trace);
  return r;
}

HttpResponse jsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("X-Request-Id", uuid4());
  return r;
}

ApiError notFound(std::string message) {
  ApiError e;
  e.status = 404;
  e.code = "not_found";
  e.message = std::move(message);
  return e;
}

ApiError unauthenticated() {
  ApiError e;
  e.status = 401;
  e.code = "unauthenticated";
  e.message = "The provided token is invalid or expired.";
  e.more_info = "https://cloud.ibm.com/docs/vpc?topic=vpc-imd-configure-service";
  return e;
}

std::optional<ApiDate> parseDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) return std::nullopt;
  }
  const auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i)
      v = v * 10 + (text[i] - '0');
    return v;
  };
  const int y = num(0, 4);
  const int m = num(5, 2);
  const int d = num(8, 2);
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m)) return std::nullopt;
  return y * 10000 + m * 100 + d;
}

ApiResult<ApiDate> requestVersion(const HttpRequest& request) {
  const std::string* version = request.param("version");
  if (version == nullptr || version->empty()) {
    return versionError("missing_field", "The `version` query parameter is required.",
                        ApiTarget{"version", "parameter", std::nullopt});
  }
  const auto date = parseDate(*version);
  if (!date) {
    return versionError("invalid_value",
                        "The `version` query parameter must be a date in the format "
                        "`YYYY-MM-DD`.",
                        ApiTarget{"version", "parameter", *version});
  }
  if (*date < kMinimumVersion) {
    // As captured from the real service (ref §6): the target's name carries the value.
    return versionError("invalid_version_range",
                        "The `version` value cannot be before `2022-03-01`.",
                        ApiTarget{*version, "parameter", std::nullopt});
  }
  return *date;
}

std::optional<std::string> bearerToken(const HttpRequest& request) {
  const std::string* auth = request.header("Authorization");
  if (auth == nullptr || auth->size() < 7) return std::nullopt;
  std::string scheme = auth->substr(0, 7);
  for (char& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return std::nullopt;
  std::string token = auth->substr(7);
  while (!token.empty() && token.front() == ' ')
    token.erase(0, 1);
  while (!token.empty() && token.back() == ' ')
    token.pop_back();
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<ApiError> parseJsonBody(const std::string& body, rapidjson::Document& out) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    out.SetObject();
    return std::nullopt;
  }
  out.Parse(body.data(), body.size());
  if (out.HasParseError() || !out.IsObject()) {
    ApiError e;
    e.code = "invalid_request";
    e.message = "The request body must be a JSON object.";
    return e;
  }
  return std::nullopt;
}

std::string rfc3339(WallTime time) {
  const auto since_epoch = time.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
  const auto t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 40> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf.data() + n, buf.size() - n, ".%03dZ", static_cast<int>(millis.count()));
  return buf.data();
}

std::int64_t epochSeconds(WallTime time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

}  // namespace mdfs::emu
