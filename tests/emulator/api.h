// What every emulated API route shares: IBM's error shape (ref §6), the `version` rule
// (ref §3, §5.4), bearer tokens and time stamps.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/clock.h"
#include "emulator/http_server.h"

namespace mdfs::emu {

// An API date as the number YYYYMMDD, so dates compare as integers.
using ApiDate = int;
constexpr ApiDate kMinimumVersion = 20220301;
constexpr ApiDate kIdentityPathBreak = 20250826;  // /instance_identity/* answers 404 from here

struct ApiTarget {
  std::string name;
  std::string type;  // "parameter", "field", "header"
  std::optional<std::string> value;
};

struct ApiError {
  int status = 400;
  std::string code;
  std::string message;
  std::optional<ApiTarget> target;
  std::string more_info;
  HeaderList headers;  // extra response headers, e.g. Retry-After
};

template <class T>
using ApiResult = std::variant<T, ApiError>;

// {"errors":[{code,message,more_info?,target?}],"trace":uuid} with X-Request-Id = trace.
HttpResponse errorResponse(const ApiError& error);
// A JSON body with a fresh X-Request-Id.
HttpResponse jsonResponse(int status, std::string body);

ApiError notFound(std::string message);
ApiError unauthenticated();

// The `version` query parameter: present, YYYY-MM-DD, a real date, not before 2022-03-01.
ApiResult<ApiDate> requestVersion(const HttpRequest& request);
// A 400 about the `version` parameter, in IBM's error shape.
ApiError versionError(std::string code, std::string message, ApiTarget target);
std::optional<ApiDate> parseDate(std::string_view text);

// The token of "Authorization: Bearer <token>", if any.
std::optional<std::string> bearerToken(const HttpRequest& request);

// An optional JSON request body: empty (or blank) means {}; the Content-Type is ignored,
// as IBM's curl examples send JSON labelled as a form (ref §3).
std::optional<ApiError> parseJsonBody(const std::string& body, rapidjson::Document& out);

// RFC 3339 UTC, e.g. 2026-01-05T11:08:39.363Z.
std::string rfc3339(WallTime time);
std::int64_t epochSeconds(WallTime time);

}  // namespace mdfs::emu
