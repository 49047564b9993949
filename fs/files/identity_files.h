// identity/token and identity/iam_token (DESIGN §4): files that always hold a currently
// valid token, like Kubernetes' projected service-account tokens, plus <name>.json with
// the response minus the token. Every file is 0400; a token is byte-exact, without a
// trailing newline, so both `Authorization: Bearer $(cat …)` and raw readers work.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "mount/filesystem.h"
#include "service/token_source.h"

namespace mdfs::files {

// A token is only handed out with at least this much of its life left: 60 s, or a fifth
// of its lifetime for tokens shorter than 5 minutes.
Millis minimumLifeLeft(const service::IssuedToken& token);

class IdentityFiles {
 public:
  using Source = std::function<Result<service::IssuedToken>(Deadline)>;

  IdentityFiles(const Clock& clock, const Logger& log);

  // Adds `identity/<name>` and `identity/<name>.json` served from `source`.
  void add(const std::string& name, const Source& source);
  [[nodiscard]] std::vector<mount::DynamicFile> files() const;

 private:
  [[nodiscard]] Result<mount::DynamicContent> produce(const std::string& name, const Source& source,
                                                      Deadline deadline, bool json) const;

  const Clock& clock_;
  const Logger& log_;
  std::vector<mount::DynamicFile> files_;
};

}  // namespace mdfs::files
