#include "common/error.h"

#include <array>

namespace mdfs {
namespace {

struct Row {
  ErrorKind kind;
  int errnum;
  LogLevel level;
  const char* name;
};

// DESIGN §3. A reader sees ENOENT only for what does not exist: a token endpoint that
// answers 404 is a bad request (EIO), never an absent tree.
constexpr std::array kTable{
    Row{ErrorKind::not_found, ENOENT, LogLevel::debug, "not_found"},
    Row{ErrorKind::not_directory, ENOTDIR, LogLevel::debug, "not_directory"},
    Row{ErrorKind::is_directory, EISDIR, LogLevel::debug, "is_directory"},
    Row{ErrorKind::invalid, EINVAL, LogLevel::debug, "invalid"},
    Row{ErrorKind::read_only, EROFS, LogLevel::debug, "read_only"},
    Row{ErrorKind::unreachable, EIO, LogLevel::warning, "unreachable"},
    Row{ErrorKind::timed_out, ETIMEDOUT, LogLevel::warning, "timed_out"},
    Row{ErrorKind::unauthenticated, EACCES, LogLevel::error, "unauthenticated"},
    Row{ErrorKind::forbidden, EACCES, LogLevel::error, "forbidden"},
    Row{ErrorKind::profile_not_linked, EACCES, LogLevel::error, "profile_not_linked"},
    Row{ErrorKind::no_default_profile, ENOENT, LogLevel::warning, "no_default_profile"},
    Row{ErrorKind::bad_request, EIO, LogLevel::error, "bad_request"},
    Row{ErrorKind::throttled, EIO, LogLevel::warning, "throttled"},
    Row{ErrorKind::server_error, EIO, LogLevel::warning, "server_error"},
    Row{ErrorKind::malformed, EIO, LogLevel::error, "malformed"},
    Row{ErrorKind::oversized, EIO, LogLevel::error, "oversized"},
    Row{ErrorKind::tls_failure, EIO, LogLevel::error, "tls_failure"},
    Row{ErrorKind::misconfigured, EIO, LogLevel::error, "misconfigured"},
    Row{ErrorKind::internal, EIO, LogLevel::error, "internal"},
};

const Row& rowOf(ErrorKind kind) {
  for (const Row& row : kTable) {
    if (row.kind == kind) return row;
  }
  return kTable.back();
}

}  // namespace

int errnoOf(ErrorKind kind) {
  return rowOf(kind).errnum;
}

LogLevel defaultLevelOf(ErrorKind kind) {
  return rowOf(kind).level;
}

const char* kindName(ErrorKind kind) {
  return rowOf(kind).name;
}

ErrorKind kindOfErrno(int errnum) {
  for (const Row& row : kTable) {
    if (row.errnum == errnum && row.errnum != EIO) return row.kind;
  }
  return ErrorKind::internal;
}

void Error::reclassify(ErrorKind to) {
  kind = to;
  errnum = errnoOf(to);
  level = defaultLevelOf(to);
}

std::string Error::describe() const {
  std::string out = message;
  if (http_status != 0) out += " (HTTP " + std::to_string(http_status);
  if (!code.empty()) out += (http_status != 0 ? ", code " : " (code ") + code;
  if (!trace.empty()) out += (http_status != 0 || !code.empty() ? ", trace " : " (trace ") + trace;
  if (http_status != 0 || !code.empty() || !trace.empty()) out += ")";
  return out;
}

}  // namespace mdfs
