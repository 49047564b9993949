// The one table that maps a service outcome to the errno a reader sees and the level it is
// logged at (DESIGN §3). Unit-tested row by row.
#pragma once

#include <string_view>

#include "common/error.h"

namespace mdfs::service {

enum class Outcome {
  not_found,          // 404: the endpoint or id does not exist
  unreachable,        // connection refused, reset, DNS, TLS handshake failure
  timed_out,          // no answer within the deadline
  unauthenticated,    // 401 after one re-acquire
  forbidden,          // 403
  profile_not_linked, // 400 profile_not_linked (IAM token)
  no_default_profile, // 400 missing_field on the IAM token call without a profile
  bad_request,        // any other 4xx
  throttled,          // 429 after the retries
  server_error,       // 5xx after the retries
  malformed,          // unparseable or unexpected JSON
  oversized,          // body above the size cap
};

struct ErrnoRow {
  int errnum;
  LogLevel level;
};

ErrnoRow errnoFor(Outcome outcome);

// An IBM error body {"errors":[{"code","message",...}],"trace"}: fills code, message and
// trace of `error` when present. Tolerates any other body.
void parseIbmError(std::string_view body, Error& error);

// Builds the Error for an outcome, with errno and level from the table.
Error outcomeError(Outcome outcome, std::string message);

}  // namespace mdfs::service
