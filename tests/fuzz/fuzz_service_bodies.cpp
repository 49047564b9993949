// Token and error bodies: parseIssuedToken (token_cache.cpp) and parseIbmError
// (errors.cpp). The first byte picks which. Neither may crash, and an accepted token has
// a non-empty access_token and a positive lifetime, and public_json has no access_token
// member (the name may well appear as a value: that is no token).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/json_reader.h"
#include "service/errors.h"
#include "service/token_cache.h"

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "invariant broken: %s\n", why.c_str());
  std::abort();
}

// Finds a member named access_token in the top-level object.
class TokenMemberFinder : public mdfs::json::Handler {
 public:
  bool found = false;
  bool scalar(mdfs::json::Kind /*kind*/, std::string_view /*text*/) override { return true; }
  bool key(std::string_view name) override {
    if (depth_ == 1 && name == "access_token") found = true;
    return true;
  }
  bool open(mdfs::json::Kind /*kind*/) override {
    ++depth_;
    return true;
  }
  bool close(mdfs::json::Kind /*kind*/) override {
    --depth_;
    return true;
  }

 private:
  int depth_ = 0;
};

bool hasTokenMember(const std::string& json) {
  TokenMemberFinder finder;
  mdfs::json::JsonReader reader(json);
  if (!reader.read(finder)) fail("public_json is not JSON: " + json);
  return finder.found;
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
  if (hasTokenMember(issued.public_json)) {
    fail("public_json has an access_token member: " + issued.public_json);
  }
  return 0;
}
