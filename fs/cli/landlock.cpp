#include "cli/landlock.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "cli/build_flags.h"

#if __has_include(<linux/landlock.h>)
#include <linux/landlock.h>
#endif
#if defined(LANDLOCK_CREATE_RULESET_VERSION) && defined(__NR_landlock_create_ruleset)
#define MDFS_HAVE_LANDLOCK 1
#else
#define MDFS_HAVE_LANDLOCK 0
#endif

namespace mdfs::cli {
namespace {

// The port of "http://host:port/..." (80 and 443 by default), or 0.
std::uint16_t portOf(const std::string& url) {
  const bool https = url.rfind("https://", 0) == 0;
  auto start = url.find("://");
  if (start == std::string::npos) return 0;
  start += 3;
  auto end = url.find('/', start);
  std::string host = url.substr(start, end == std::string::npos ? end : end - start);
  auto bracket = host.rfind(']');
  auto colon = host.rfind(':');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) {
    return https ? 443 : 80;
  }
  unsigned port = 0;
  auto [p, ec] = std::from_chars(host.data() + colon + 1, host.data() + host.size(), port);
  return ec == std::errc() && port < 65536 ? static_cast<std::uint16_t>(port) : 0;
}

// The port of a resolve= entry HOST:PORT:ADDR.
std::uint16_t portOfResolve(const std::string& entry) {
  auto first = entry.find(':');
  auto second = first == std::string::npos ? first : entry.find(':', first + 1);
  if (second == std::string::npos) return 0;
  unsigned port = 0;
  auto [p, ec] = std::from_chars(entry.data() + first + 1, entry.data() + second, port);
  return ec == std::errc() && port < 65536 ? static_cast<std::uint16_t>(port) : 0;
}

// The file named by suppressions= in LSAN_OPTIONS, if any.
std::optional<std::string> leakSuppressionsFile() {
  const char* options = std::getenv("LSAN_OPTIONS");  // NOLINT(concurrency-mt-unsafe): one thread
  if (options == nullptr) return std::nullopt;
  const std::string_view text(options);
  const std::string_view key = "suppressions=";
  const auto at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const auto start = at + key.size();
  const auto end = text.find(':', start);
  return std::string(text.substr(start, end == std::string_view::npos ? end : end - start));
}

}  // namespace

LandlockPolicy daemonPolicy(const std::string& endpoint, const std::vector<std::string>& resolve,
                            const std::string& cacert, const std::string& config_file) {
  LandlockPolicy p;
  if (!cacert.empty()) p.read_only.push_back(cacert);
  if (!config_file.empty()) p.read_only.push_back(config_file);
  // The system trust store and OpenSSL's configuration (Debian, then RHEL/SUSE places).
  for (const char* path : {"/etc/ssl", "/usr/share/ca-certificates", "/usr/lib/ssl", "/etc/pki",
                           "/etc/ca-certificates", "/var/lib/ca-certificates"}) {
    p.read_only.emplace_back(path);
  }
  // getaddrinfo and localtime.
  for (const char* path :
       {"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
        "/etc/services", "/etc/localtime", "/usr/share/zoneinfo", "/etc/ld.so.cache"}) {
    p.read_only.emplace_back(path);
  }
  // NSS modules and gconv, loaded on first use by getaddrinfo.
  for (const char* path : {"/usr/lib", "/lib", "/usr/lib64", "/lib64"})
    p.executable.emplace_back(path);
  if (MDFS_SANITIZER_BUILD) {
    // Sanitizer reports read /proc/self/maps and run a symbolizer from /usr/bin.
    for (const char* path : {"/proc", "/usr/bin", "/dev"})
      p.executable.emplace_back(path);
    // LeakSanitizer reads its suppressions when it finds a leak, at exit.
    if (auto file = leakSuppressionsFile()) p.read_only.push_back(*file);
  }
  if (auto port = portOf(endpoint)) p.connect_ports.push_back(port);
  for (const auto& entry : resolve) {
    if (auto port = portOfResolve(entry)) p.connect_ports.push_back(port);
  }
  p.connect_ports.push_back(53);  // DNS falls back to TCP for long answers
  std::sort(p.connect_ports.begin(), p.connect_ports.end());
  p.connect_ports.erase(std::unique(p.connect_ports.begin(), p.connect_ports.end()),
                        p.connect_ports.end());
  return p;
}

#if MDFS_HAVE_LANDLOCK
namespace {

std::string errnoText(int err) {
  return std::strerror(err);  // NOLINT(concurrency-mt-unsafe): start-up, one thread
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// Filesystem rights this kernel's ABI knows, as far as these headers name them.
std::uint64_t handledFs(int abi) {
  std::uint64_t rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // the 13 rights of ABI 1
#ifdef LANDLOCK_ACCESS_FS_REFER
  if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
  if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
  if (abi >= 5) rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
#endif
  (void)abi;
  return rights;
}

constexpr std::uint64_t kReadFile = LANDLOCK_ACCESS_FS_READ_FILE;
constexpr std::uint64_t kReadDir = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

// Allows `rights` beneath `path` (only the file rights for a file); a missing path is fine.
Status allowPath(int ruleset, const std::string& path, std::uint64_t rights) {
  Fd fd(open(path.c_str(), O_PATH | O_CLOEXEC));
  if (fd.get() < 0) return Ok{};
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Ok{};
  landlock_path_beneath_attr rule{};
  rule.parent_fd = fd.get();
  const std::uint64_t dir_only = LANDLOCK_ACCESS_FS_READ_DIR;
  rule.allowed_access = S_ISDIR(st.st_mode) ? rights : rights & ~dir_only;
  if (syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) {
    int err = errno;
    return makeError(err, "landlock: cannot allow " + path + ": " + errnoText(err));
  }
  return Ok{};
}

#ifdef LANDLOCK_ACCESS_NET_CONNECT_TCP
constexpr bool kHaveNet = true;
Status allowPorts(int ruleset, const std::vector<std::uint16_t>& ports) {
  for (auto port : ports) {
    landlock_net_port_attr rule{};
    rule.allowed_access = LANDLOCK_ACCESS_NET_CONNECT_TCP;
    rule.port = port;
    if (syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_NET_PORT, &rule, 0) != 0) {
      int err = errno;
      return makeError(
          err, "landlock: cannot allow port " + std::to_string(port) + ": " + errnoText(err));
    }
  }
  return Ok{};
}
#else
constexpr bool kHaveNet = false;
#endif

landlock_ruleset_attr rulesetFor(int abi) {
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = handledFs(abi);
#ifdef LANDLOCK_ACCESS_NET_CONNECT_TCP
  if (abi >= 4) {
    attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
  }
#endif
#ifdef LANDLOCK_SCOPE_SIGNAL
  if (abi >= 6) attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
#endif
  return attr;
}

Status addRules(int ruleset, const LandlockPolicy& policy, int abi) {
  for (const auto& path : policy.read_only) {
    if (auto s = allowPath(ruleset, path, kReadDir); !s) return s;
  }
  for (const auto& path : policy.executable) {
    if (auto s = allowPath(ruleset, path, kReadDir | LANDLOCK_ACCESS_FS_EXECUTE); !s) return s;
  }
#ifdef LANDLOCK_ACCESS_NET_CONNECT_TCP
  if (abi >= 4) return allowPorts(ruleset, policy.connect_ports);
#endif
  (void)abi;
  return Ok{};
}

}  // namespace

int landlockAbi() {
  const long abi =
      syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

Result<LandlockOutcome> restrictSelf(const LandlockPolicy& policy) {
  const long abi_or_error =
      syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi_or_error < 0) {
    return LandlockOutcome{0, "the kernel offers no Landlock (" + errnoText(errno) + ")"};
  }
  const int abi = static_cast<int>(abi_or_error);
  landlock_ruleset_attr attr = rulesetFor(abi);
  Fd ruleset(static_cast<int>(syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0)));
  if (ruleset.get() < 0) {
    int err = errno;
    return makeError(err, "landlock: cannot create a ruleset: " + errnoText(err));
  }
  if (auto s = addRules(ruleset.get(), policy, abi); !s) return s.error();
  // Landlock needs no_new_privs, which the caller set (privileges.h).
  if (syscall(__NR_landlock_restrict_self, ruleset.get(), 0) != 0) {
    int err = errno;
    return makeError(err, "landlock: cannot restrict the process: " + errnoText(err));
  }
  std::string summary = "Landlock ABI " + std::to_string(abi) + ": files read-only, " +
                        std::to_string(policy.read_only.size() + policy.executable.size()) +
                        " paths";
  if (kHaveNet && abi >= 4) {
    summary += "; TCP connections to ports";
    for (auto port : policy.connect_ports)
      summary += " " + std::to_string(port);
  }
  return LandlockOutcome{abi, summary};
}

#else

int landlockAbi() {
  return 0;
}

Result<LandlockOutcome> restrictSelf(const LandlockPolicy& /*policy*/) {
  return LandlockOutcome{0, "built without Landlock (these kernel headers lack linux/landlock.h)"};
}

#endif

}  // namespace mdfs::cli
