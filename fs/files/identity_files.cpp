#include "files/identity_files.h"

#include <algorithm>

namespace mdfs::files {
namespace {

constexpr std::uint32_t kSecretPerm = 0400;
// When a renewal is overdue (it failed), the kernel rechecks this often.
constexpr Millis kRetryInterval{1000};

}  // namespace

Millis minimumLifeLeft(const service::IssuedToken& token) {
  auto lifetime = std::chrono::duration_cast<Millis>(token.expiry - token.obtained);
  return std::min<Millis>(Millis(60000), lifetime / 5);
}

IdentityFiles::IdentityFiles(const Clock& clock, const Logger& log) : clock_(clock), log_(log) {}

void IdentityFiles::add(const std::string& name, const Source& source) {
  for (bool json : {false, true}) {
    mount::DynamicFile f;
    f.path = "identity/" + name + (json ? ".json" : "");
    f.perm = kSecretPerm;
    f.secret = true;  // 0440 and the secrets group with secrets_group=
    f.produce = [this, name, source, json](Deadline deadline) {
      return produce(name, source, deadline, json);
    };
    files_.push_back(std::move(f));
  }
}

std::vector<mount::DynamicFile> IdentityFiles::files() const {
  return files_;
}

Result<mount::DynamicContent> IdentityFiles::produce(const std::string& name, const Source& source,
                                                     Deadline deadline, bool json) const {
  auto token = source(deadline);
  if (!token) {
    log_.report(token.error(), "identity/" + name);
    return token.error();
  }
  const service::IssuedToken& t = token.value();
  SteadyTime now = clock_.steady();
  if (t.expiry - now < minimumLifeLeft(t)) {
    // Renewal failed and the token is nearly spent: better no token than one that dies
    // in the reader's hands.
    Error e = makeError(ErrorKind::unreachable,
                        "identity/" + name + ": the token could not be renewed in time");
    log_.report(e, "");
    return e;
  }
  mount::DynamicContent c;
  c.bytes = json ? t.public_json : t.access_token;
  // Bump the mtime with every new token so the kernel drops the cached pages.
  c.mtime_ns = nanosSinceEpoch(
      t.expiry_wall - std::chrono::duration_cast<WallTime::duration>(t.expiry - t.obtained));
  // The kernel may keep these bytes until renewal is due, never past it.
  auto until_renewal = std::chrono::duration_cast<Millis>(t.renewAt() - now);
  auto spare = std::chrono::duration_cast<Millis>(t.expiry - now) - minimumLifeLeft(t);
  c.valid_for = until_renewal.count() > 0 ? until_renewal : std::min(kRetryInterval, spare);
  return c;
}

}  // namespace mdfs::files
