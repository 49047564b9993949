#include "service/errors.h"

#include <rapidjson/document.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <utility>

#include "service/json.h"

namespace mdfs::service {
namespace {

// IBM messages are short sentences; anything longer is not worth a log line.
constexpr std::size_t kMaxIbmText = 300;

// Text from the wire goes into one log line: no control characters, bounded length.
std::string sanitized(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxIbmText));
  for (char c : text) {
    if (out.size() >= kMaxIbmText) {
      out += "...";
      break;
    }
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  }
  return out;
}

std::string stringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return sanitized({it->value.GetString(), it->value.GetStringLength()});
}

}  // namespace

Outcome outcomeForStatus(long status) {
  if (status == 401) return Outcome::unauthenticated;
  if (status == 403) return Outcome::forbidden;
  if (status == 404) return Outcome::not_found;
  if (status == 429) return Outcome::throttled;
  if (status >= 500 && status <= 599) return Outcome::server_error;
  if (status >= 400 && status <= 499) return Outcome::bad_request;
  return Outcome::malformed;
}

bool isSuccessStatus(long status) {
  return status >= 200 && status <= 299;
}

bool isRetryableStatus(long status) {
  return status == 429 || (status >= 500 && status <= 599);
}

void parseIbmError(std::string_view body, Error& error) {
  rapidjson::Document doc;
  if (!parseJson(body, doc) || !doc.IsObject()) return;
  if (std::string trace = stringMember(doc, "trace"); !trace.empty()) error.trace = trace;
  auto errors = doc.FindMember("errors");
  if (errors == doc.MemberEnd() || !errors->value.IsArray() || errors->value.Empty()) return;
  const rapidjson::Value& first = errors->value[0];
  if (!first.IsObject()) return;
  if (std::string code = stringMember(first, "code"); !code.empty()) error.code = code;
  if (std::string message = stringMember(first, "message"); !message.empty()) {
    error.message += error.message.empty() ? message : ": " + message;
  }
}

Error responseError(Outcome outcome, std::string context, long status, std::string_view body,
                    std::string_view request_id) {
  Error error = outcomeError(outcome, std::move(context));
  error.http_status = static_cast<int>(status);
  parseIbmError(body, error);
  if (error.trace.empty()) error.trace = sanitized(request_id);
  return error;
}

}  // namespace mdfs::service
