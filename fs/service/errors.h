// How HTTP answers become errors: statuses to kinds, IBM error bodies into the Error.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/error.h"

namespace mdfs::service {

// The service's name for an error kind; the kinds and their errno table live in
// common/error.h (errnoOf), so every layer reads the same rules.
using Outcome = ErrorKind;

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
inline Error outcomeError(Outcome outcome, std::string message) {
  return makeError(outcome, std::move(message));
}

// `error` moved to another row of the table: errno and level change; message, status, code
// and trace stay.
inline Error reclassified(Error error, Outcome outcome) {
  error.reclassify(outcome);
  return error;
}

// The Error for an HTTP answer with a failing status: `context` (e.g. "GET <url>"), the
// status, and what the IBM error body says; `request_id` (X-Request-Id) stands in for a
// missing `trace`. Only call this for error bodies: it reads the body.
Error responseError(Outcome outcome, std::string context, long status, std::string_view body,
                    std::string_view request_id);

}  // namespace mdfs::service
