// The one table that maps a service outcome to the errno a reader sees and the level it is
// logged at (DESIGN §3). Unit-tested row by row.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace mdfs::service {

enum class Outcome {
  not_found,           // 404: the endpoint or id does not exist
  unreachable,         // connection refused, reset, DNS, dropped mid-answer, TLS handshake
  timed_out,           // no answer within the deadline
  unauthenticated,     // 401 after one re-acquire
  forbidden,           // 403
  profile_not_linked,  // 400 profile_not_linked (IAM token)
  no_default_profile,  // 400 missing_field on the IAM token call without a profile
  bad_request,         // any other 4xx
  throttled,           // 429 after the retries
  server_error,        // 5xx after the retries
  malformed,           // unparseable or unexpected JSON, unexpected status, pagination loop
  oversized,           // body above the size cap, or a collection above the page cap
  tls_failure,         // the server certificate did not verify (or the CA bundle is unusable)
  misconfigured,       // an endpoint or option libcurl refuses (bad URL, unsupported scheme)
};

struct ErrnoRow {
  int errnum;
  LogLevel level;
};

ErrnoRow errnoFor(Outcome outcome);

// The outcome of an HTTP status from a metadata GET: 401, 403, 404, 429, 5xx, other 4xx;
// anything else that is not 2xx (redirects are never followed) is `malformed`.
Outcome outcomeForStatus(long status);

// Any 2xx: the service answers 201 to token requests, 200 to GETs (ref §12.1).
bool isSuccessStatus(long status);

// True for statuses a new attempt may cure: 429 and 5xx.
bool isRetryableStatus(long status);

// An IBM error body {"errors":[{"code","message",...}],"trace"}: sets `code` and `trace`
// of `error` when present, and appends ": <message>" (sanitized, bounded) to its message.
// Tolerates any other body, including none.
void parseIbmError(std::string_view body, Error& error);

// Builds the Error for an outcome, with errno and level from the table.
Error outcomeError(Outcome outcome, std::string message);

// `error` moved to another row of the table: errno and level change; message, status, code
// and trace stay.
Error reclassified(Error error, Outcome outcome);

// The Error for an HTTP answer with a failing status: `context` (e.g. "GET <url>"), the
// status, and what the IBM error body says; `request_id` (X-Request-Id) stands in for a
// missing `trace`. Only call this for error bodies: it reads the body.
Error responseError(Outcome outcome, std::string context, long status, std::string_view body,
                    std::string_view request_id);

}  // namespace mdfs::service
