// Errors cross layers as values: a kind set where the error starts, the errno a reader sees
// (derived from the kind in one table, errnoOf), a message that is always safe to log, and
// the HTTP facts (status, IBM code, trace id) when there are any.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mdfs {

enum class LogLevel { error = 0, warning = 1, info = 2, debug = 3 };

// What went wrong, independent of where. Layers above the service decide by kind (an
// absent endpoint is `not_found`), never by HTTP status.
enum class ErrorKind : std::uint8_t {
  not_found,           // the name, resource or endpoint does not exist (a data 404)
  not_directory,       // a directory operation on something else
  is_directory,        // a file operation on a directory
  invalid,             // a request that makes no sense (readlink of a file, a bad option)
  read_only,           // any write
  unreachable,         // connection refused, reset, DNS, dropped mid-answer, TLS handshake
  timed_out,           // no answer within the deadline
  unauthenticated,     // 401 after one re-acquire
  forbidden,           // 403
  profile_not_linked,  // 400 profile_not_linked (IAM token)
  no_default_profile,  // 400 missing_field on the IAM token call without a profile
  bad_request,         // any other 4xx (a token endpoint's 404 included)
  throttled,           // 429 after the retries
  server_error,        // 5xx after the retries
  malformed,           // unparseable or unexpected answer, unexpected status, pagination loop
  oversized,           // body above the size cap, or a collection above the page cap
  tls_failure,         // the server certificate did not verify (or the CA bundle is unusable)
  misconfigured,       // an endpoint or option libcurl refuses (bad URL, unsupported scheme)
  internal,            // a fault of metadatafs itself (an exception, out of memory)
};

// The one table (DESIGN §3): the errno a reader sees and the level an error of this kind is
// logged at unless its origin says otherwise.
int errnoOf(ErrorKind kind);
LogLevel defaultLevelOf(ErrorKind kind);
// "not_found", "timed_out", ...: for .status and metrics labels.
const char* kindName(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::internal;
  int errnum = EIO;  // errnoOf(kind) for every error made from a kind
  // Never holds a token, an Authorization header or user data.
  std::string message;
  LogLevel level = LogLevel::error;
  int http_status = 0;  // 0 when no HTTP response was received
  std::string code;     // IBM error code, e.g. "unauthenticated"
  std::string trace;    // IBM trace id (X-Request-Id)

  // One line for logs: message, then status, code and trace when known.
  [[nodiscard]] std::string describe() const;
  // Moves the error to another kind: errno follows; message and HTTP facts stay.
  void reclassify(ErrorKind to);
};

inline Error makeError(ErrorKind kind, std::string message) {
  Error e;
  e.kind = kind;
  e.errnum = errnoOf(kind);
  e.level = defaultLevelOf(kind);
  e.message = std::move(message);
  return e;
}

inline Error makeError(ErrorKind kind, std::string message, LogLevel level) {
  Error e = makeError(kind, std::move(message));
  e.level = level;
  return e;
}

// The kind an errno stands for (internal when none fits).
ErrorKind kindOfErrno(int errnum);

// For errno-native callers (system calls, the test emulator): keeps `errnum` as given.
// The daemon's own errors are made from a kind.
inline Error makeError(int errnum, std::string message, LogLevel level = LogLevel::error) {
  Error e = makeError(kindOfErrno(errnum), std::move(message), level);
  e.errnum = errnum;
  return e;
}

// A value or an Error. Deliberately small: ok(), value(), error().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  [[nodiscard]] T& value() & { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace mdfs
