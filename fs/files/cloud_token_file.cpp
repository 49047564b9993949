#include "files/cloud_token_file.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>

namespace mdfs::files {
namespace {

constexpr std::uint32_t kSecretPerm = 0400;
constexpr Seconds kMargin{300};  // Azure renews a token when 5 minutes are left
constexpr Millis kNoReuse{1000};

}  // namespace

Millis tokenReuse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("expires_in")) return kNoReuse;
  const auto& v = doc["expires_in"];
  long long seconds = -1;
  if (v.IsInt64()) {
    seconds = v.GetInt64();
  } else if (v.IsString()) {
    const char* s = v.GetString();
    const char* end = s + v.GetStringLength();
    if (std::from_chars(s, end, seconds).ptr != end) seconds = -1;
  }
  if (seconds < 0) return kNoReuse;
  const Seconds left = Seconds(seconds) - kMargin;
  return std::max<Millis>(kNoReuse, std::chrono::duration_cast<Millis>(left));
}

mount::DynamicFile cloudTokenFile(std::string path, TokenFetch fetch, const Clock& clock,
                                  const Logger& log) {
  mount::DynamicFile f;
  f.path = std::move(path);
  f.perm = kSecretPerm;
  f.secret = true;  // 0440 and the secrets group with secrets_group=
  f.produce = [fetch = std::move(fetch), &log, &clock,
               name = f.path](Deadline deadline) -> Result<mount::DynamicContent> {
    auto body = fetch(deadline);
    if (!body) {
      log.report(body.error(), name);
      return body.error();
    }
    mount::DynamicContent c;
    c.valid_for = tokenReuse(*body);
    c.bytes = std::move(body).value();
    c.mtime_ns = nanosSinceEpoch(clock.wall());  // a new token: the kernel drops its pages
    return c;
  };
  return f;
}

}  // namespace mdfs::files
