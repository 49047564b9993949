#include "cli/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <vector>

#include "cli/build_flags.h"

namespace mdfs::cli {
namespace {

std::string errnoText(int err) {
  return std::strerror(err);  // NOLINT(concurrency-mt-unsafe): start-up, one thread
}

Error failed(const std::string& what) {
  int err = errno;
  return makeError(err, what + ": " + errnoText(err));
}

std::optional<RunAs> fromPasswd(const passwd* pw) {
  if (pw == nullptr) return std::nullopt;
  return RunAs{pw->pw_name, pw->pw_uid, pw->pw_gid};
}

// capget/capset with the 64-bit layout (two 32-bit words per set).
struct RawCaps {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
};

std::uint64_t join(std::uint32_t low, std::uint32_t high) {
  return (static_cast<std::uint64_t>(high) << 32) | low;
}

int lastCapability() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = 0;
  if (in >> last && last > 0 && last < 64) return last;
  return CAP_LAST_CAP;
}

}  // namespace

Result<RunAs> lookUpUser(const std::string& name_or_uid) {
  // NOLINTBEGIN(concurrency-mt-unsafe): start-up, one thread
  uid_t uid = 0;
  const char* first = name_or_uid.data();
  const char* last = first + name_or_uid.size();
  auto [end, ec] = std::from_chars(first, last, uid);
  const bool numeric = !name_or_uid.empty() && ec == std::errc() && end == last;
  auto user = fromPasswd(numeric ? getpwuid(uid) : getpwnam(name_or_uid.c_str()));
  // NOLINTEND(concurrency-mt-unsafe)
  if (!user) return makeError(ENOENT, "no user " + name_or_uid + " on this system");
  return *user;
}

Result<RunAs> defaultRunAs() {
  for (const char* name : {"metadatafs", "nobody"}) {
    if (auto user = fromPasswd(getpwnam(name))) return *user;  // NOLINT(concurrency-mt-unsafe)
  }
  return makeError(ENOENT,
                   "neither a metadatafs nor a nobody user on this system: name one with "
                   "run_as=USER");
}

Result<CapabilitySets> currentCapabilities() {
  RawCaps caps;
  if (syscall(SYS_capget, &caps.header, caps.data) != 0) return failed("capget");
  return CapabilitySets{join(caps.data[0].effective, caps.data[1].effective),
                        join(caps.data[0].permitted, caps.data[1].permitted),
                        join(caps.data[0].inheritable, caps.data[1].inheritable)};
}

bool holdsSysAdmin() {
  auto caps = currentCapabilities();
  return caps && (caps->effective & (1ULL << CAP_SYS_ADMIN)) != 0;
}

Status switchUser(const RunAs& user) {
  if (setgroups(0, nullptr) != 0) return failed("setgroups");
  if (setresgid(user.gid, user.gid, user.gid) != 0) return failed("setresgid");
  if (setresuid(user.uid, user.uid, user.uid) != 0) return failed("setresuid");
  uid_t r = 0;
  uid_t e = 0;
  uid_t s = 0;
  gid_t rg = 0;
  gid_t eg = 0;
  gid_t sg = 0;
  if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0) return failed("getresuid");
  const bool all_uids = r == user.uid && e == user.uid && s == user.uid;
  const bool all_gids = rg == user.gid && eg == user.gid && sg == user.gid;
  // Changing the effective ids moves the filesystem ids with them; they are only checked.
  const bool fs_ids = setfsuid(static_cast<uid_t>(-1)) == static_cast<int>(user.uid) &&
                      setfsgid(static_cast<gid_t>(-1)) == static_cast<int>(user.gid);
  const bool groups = getgroups(0, nullptr) == 0;
  if (!all_uids || !all_gids || !fs_ids || !groups) {
    return makeError(EPERM, "switching to user " + user.name + " left an id behind");
  }
  // Root is gone for good only if it cannot be taken back.
  if (!user.isRoot() && (setuid(0) == 0 || seteuid(0) == 0)) {
    return makeError(EPERM, "after switching to " + user.name + ", uid 0 could be regained");
  }
  return Ok{};
}

void dropBoundingSet(bool keep_sys_admin) {
  auto caps = currentCapabilities();
  if (!caps || (caps->effective & (1ULL << CAP_SETPCAP)) == 0) return;
  const int last = lastCapability();
  for (int cap = 0; cap <= last; ++cap) {
    if (keep_sys_admin && cap == CAP_SYS_ADMIN) continue;
    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
}

void allowSanitizerTracing() {
  if (MDFS_SANITIZER_BUILD) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

Status limitCapabilities(bool keep_sys_admin) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return failed("clearing the ambient capabilities");
  }
  RawCaps caps;
  if (keep_sys_admin) {
    const std::uint32_t bit = CAP_TO_MASK(CAP_SYS_ADMIN);
    caps.data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective = bit;
    caps.data[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted = bit;
  }
  if (syscall(SYS_capset, &caps.header, caps.data) != 0) return failed("capset");
  auto now = currentCapabilities();
  if (!now) return now.error();
  const std::uint64_t allowed = keep_sys_admin ? 1ULL << CAP_SYS_ADMIN : 0;
  if ((now->effective | now->permitted | now->inheritable) & ~allowed) {
    return makeError(EPERM, "capabilities are left after dropping them");
  }
  return Ok{};
}

Status forbidNewPrivileges() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return failed("PR_SET_NO_NEW_PRIVS");
  return Ok{};
}

std::string confinementSummary() {
  std::ifstream in("/proc/self/status");
  std::string out;
  for (std::string line; std::getline(in, line);) {
    for (const char* key : {"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
                            "CapAmb:", "NoNewPrivs:", "Seccomp:"}) {
      if (line.rfind(key, 0) == 0) out += line + "\n";
    }
  }
  return out;
}

}  // namespace mdfs::cli
