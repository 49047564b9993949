#include <gtest/gtest.h>

#include <string>

#include "common/error.h"

namespace mdfs {
namespace {

struct Row {
  ErrorKind kind;
  int errnum;
  LogLevel level;
};

// DESIGN §3 and the decisions for the IAM token, one row per kind.
const Row kExpected[] = {
    {ErrorKind::not_found, ENOENT, LogLevel::debug},
    {ErrorKind::not_directory, ENOTDIR, LogLevel::debug},
    {ErrorKind::is_directory, EISDIR, LogLevel::debug},
    {ErrorKind::invalid, EINVAL, LogLevel::debug},
    {ErrorKind::read_only, EROFS, LogLevel::debug},
    {ErrorKind::unreachable, EIO, LogLevel::warning},
    {ErrorKind::timed_out, ETIMEDOUT, LogLevel::warning},
    {ErrorKind::unauthenticated, EACCES, LogLevel::error},
    {ErrorKind::forbidden, EACCES, LogLevel::error},
    {ErrorKind::profile_not_linked, EACCES, LogLevel::error},
    {ErrorKind::no_default_profile, ENOENT, LogLevel::warning},
    {ErrorKind::bad_request, EIO, LogLevel::error},
    {ErrorKind::throttled, EIO, LogLevel::warning},
    {ErrorKind::server_error, EIO, LogLevel::warning},
    {ErrorKind::malformed, EIO, LogLevel::error},
    {ErrorKind::oversized, EIO, LogLevel::error},
    {ErrorKind::tls_failure, EIO, LogLevel::error},
    {ErrorKind::misconfigured, EIO, LogLevel::error},
    {ErrorKind::internal, EIO, LogLevel::error},
};

class ErrnoTable : public ::testing::TestWithParam<Row> {};

TEST_P(ErrnoTable, RowMatchesDesign) {
  const Row& row = GetParam();
  EXPECT_EQ(errnoOf(row.kind), row.errnum);
  EXPECT_EQ(defaultLevelOf(row.kind), row.level);
  const Error error = makeError(row.kind, "context");
  EXPECT_EQ(error.kind, row.kind);
  EXPECT_EQ(error.errnum, row.errnum);
  EXPECT_EQ(error.level, row.level);
  EXPECT_EQ(error.message, "context");
  EXPECT_STRNE(kindName(row.kind), "");
}

INSTANTIATE_TEST_SUITE_P(Errors, ErrnoTable, ::testing::ValuesIn(kExpected));

TEST(Errors, ReclassifyKeepsTheHttpFacts) {
  Error e = makeError(ErrorKind::not_found, "GET x");
  e.http_status = 404;
  e.code = "not_found";
  e.trace = "t-1";
  e.reclassify(ErrorKind::bad_request);
  EXPECT_EQ(e.errnum, EIO);
  EXPECT_EQ(e.kind, ErrorKind::bad_request);
  EXPECT_EQ(e.describe(), "GET x (HTTP 404, code not_found, trace t-1)");
}

TEST(Errors, ErrnoNativeErrorsKeepTheirErrno) {
  Error e = makeError(ENOSPC, "disk full");
  EXPECT_EQ(e.errnum, ENOSPC);
  EXPECT_EQ(e.kind, ErrorKind::internal);
  EXPECT_EQ(makeError(ENOENT, "x").kind, ErrorKind::not_found);
  EXPECT_EQ(makeError(ETIMEDOUT, "x").kind, ErrorKind::timed_out);
}

}  // namespace
}  // namespace mdfs
