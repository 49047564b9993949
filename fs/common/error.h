// Errors cross layers as values: an errno for the filesystem boundary, a message that is
// always safe to log, and the HTTP facts (status, IBM code, trace id) when there are any.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace mdfs {

enum class LogLevel { error = 0, warning = 1, info = 2, debug = 3 };

struct Error {
  int errnum = EIO;
  // Never holds a token, an Authorization header or user data.
  std::string message;
  LogLevel level = LogLevel::error;
  int http_status = 0;  // 0 when no HTTP response was received
  std::string code;     // IBM error code, e.g. "unauthenticated"
  std::string trace;    // IBM trace id (X-Request-Id)

  // One line for logs: message, then status, code and trace when known.
  [[nodiscard]] std::string describe() const;
};

inline Error makeError(int errnum, std::string message, LogLevel level = LogLevel::error) {
  Error e;
  e.errnum = errnum;
  e.message = std::move(message);
  e.level = level;
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
