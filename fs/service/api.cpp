#include "service/api.h"

#include <cerrno>
#include <string>

namespace mdfs::service {
namespace {

bool isLeapYear(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int daysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && isLeapYear(year) ? 29 : kDays[month - 1];
}

// The decimal value of `digits`, or -1 when any character is not a digit.
int parseDigits(std::string_view digits) {
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string_view withoutTrailingSlash(std::string_view endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/')
    endpoint.remove_suffix(1);
  return endpoint;
}

Status invalid(std::string message) {
  return makeError(EINVAL, std::move(message));
}

Status validateEndpoint(std::string_view endpoint) {
  std::string_view rest;
  if (endpoint.starts_with("http://")) {
    rest = endpoint.substr(7);
  } else if (endpoint.starts_with("https://")) {
    rest = endpoint.substr(8);
  } else {
    return invalid("endpoint '" + std::string(endpoint) + "' must start with http:// or https://");
  }
  rest = withoutTrailingSlash(rest);
  if (rest.empty()) return invalid("endpoint '" + std::string(endpoint) + "' has no host");
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return invalid("endpoint '" + std::string(endpoint) +
                   "' must be scheme://host[:port] without a path, query or user");
  }
  return Ok{};
}

}  // namespace

bool isValidVersionDate(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return false;
  const int year = parseDigits(date.substr(0, 4));
  const int month = parseDigits(date.substr(5, 2));
  const int day = parseDigits(date.substr(8, 2));
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(year, month);
}

std::string ApiConfig::identityBase() const {
  // YYYY-MM-DD dates order lexicographically.
  return std::string_view(version) >= kIdentityPathBreak ? "/identity/v1" : "/instance_identity/v1";
}

std::string ApiConfig::tokenUrl() const {
  return url(identityBase() + "/token");
}

std::string ApiConfig::iamTokenUrl() const {
  // The migration also renamed the last segment (ref §5.4).
  const bool current = std::string_view(version) >= kIdentityPathBreak;
  return url(identityBase() + (current ? "/iam_tokens" : "/iam_token"));
}

std::string ApiConfig::url(std::string_view path, std::string_view query) const {
  std::string out(withoutTrailingSlash(endpoint));
  out += path;
  out += "?version=";
  out += version;
  if (!query.empty()) {
    out += '&';
    out += query;
  }
  return out;
}

Status ApiConfig::validate() const {
  if (Status s = validateEndpoint(endpoint); !s) return s;
  if (!isValidVersionDate(version)) {
    return invalid("api version '" + version + "' is not a YYYY-MM-DD date");
  }
  if (std::string_view(version) < kMinimumVersion) {
    return invalid("api version " + version + " is before " + std::string(kMinimumVersion) +
                   ", the oldest the service accepts");
  }
  if (token_ttl_s < kMinTokenTtl || token_ttl_s > kMaxTokenTtl) {
    return invalid("token TTL " + std::to_string(token_ttl_s) + " s is outside 5..3600");
  }
  if (page_limit < 1 || page_limit > kMaxPageLimit) {
    return invalid("page limit " + std::to_string(page_limit) + " is outside 1..100");
  }
  if (max_pages < 1) return invalid("max_pages must be at least 1");
  if (retry.max_attempts < 1) return invalid("retry.max_attempts must be at least 1");
  return Ok{};
}

}  // namespace mdfs::service
