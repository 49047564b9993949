#include "service/api.h"

#include <algorithm>
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

Result<std::string> parseEndpoint(std::string_view endpoint) {
  const bool https = endpoint.starts_with("https://");
  if (!https && !endpoint.starts_with("http://")) {
    return makeError(EINVAL, "an http:// or https:// URL such as " + std::string(kDefaultEndpoint));
  }
  const std::string_view scheme = endpoint.substr(0, https ? 8 : 7);
  const std::string_view rest = withoutTrailingSlash(endpoint.substr(scheme.size()));
  const bool odd = std::any_of(rest.begin(), rest.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f ||
           std::string_view("/?#@\\").find(c) != std::string_view::npos;
  });
  if (rest.empty() || odd) {
    return makeError(EINVAL, "scheme://host[:port] with no path, query or user, e.g. " +
                                 std::string(kDefaultEndpoint));
  }
  return std::string(scheme) + std::string(rest);
}

Status checkVersion(std::string_view version) {
  // YYYY-MM-DD dates order lexicographically.
  if (!isValidVersionDate(version) || version < kMinimumVersion) {
    return makeError(EINVAL, "a date YYYY-MM-DD from " + std::string(kMinimumVersion) +
                                 " on, e.g. " + std::string(kDefaultVersion) + " or 2024-11-12");
  }
  return Ok{};
}

}  // namespace mdfs::service
