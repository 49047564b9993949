// Token and error bodies: parseIssuedToken (token_cache.cpp) and parseIbmError
// (errors.cpp). The first byte picks which. Neither may crash, and an accepted token has
// a non-empty access_token and a positive lifetime, and never shows up in public_json.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "service/errors.h"
#include "service/token_cache.h"

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "invariant broken: %s\n", why.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    mdfs::Error error = mdfs::makeError(EIO, "context");
    mdfs::service::parseIbmError(body, error);
    if (error.message.compare(0, 7, "context") != 0) fail("message lost its context");
    return 0;
  }
  static const mdfs::FakeClock clock;
  auto token = mdfs::service::parseIssuedToken(body, clock, "token");
  if (!token.ok()) return 0;
  const auto& issued = token.value();
  if (issued.access_token.empty() || issued.expires_in < 1) fail("accepted a useless token");
  if (issued.public_json.find("\"access_token\"") != std::string::npos) {
    fail("public_json shows an access_token: " + issued.public_json);
  }
  return 0;
}
