// A token file whose bytes are the service's own JSON answer (Azure's managed identity at
// identity/oauth2/token): 0400, produced when read, and kept no longer than the token has
// life left beyond a margin, so a reader always gets one that is still valid.
#pragma once

#include <functional>
#include <string>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "mount/filesystem.h"

namespace mdfs::files {

using TokenFetch = std::function<Result<std::string>(Deadline)>;

// `path` in the tree; `fetch` returns the service's answer (a JSON object with expires_in).
mount::DynamicFile cloudTokenFile(std::string path, TokenFetch fetch, const Clock& clock,
                                  const Logger& log);

// How long an answer may be reused: expires_in (a number or a string of digits) minus a
// margin of 5 minutes, at least 1 s; an answer without expires_in is not reused.
Millis tokenReuse(const std::string& json);

}  // namespace mdfs::files
