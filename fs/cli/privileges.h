// Who the long-running process is, and how it stops being anyone powerful (DESIGN §6).
//
// Mounting needs root, or CAP_SYS_ADMIN (metadatafs.service starts as the metadatafs user
// holding only that capability); serving FUSE requests and talking HTTP needs neither. After
// mounting, the process that serves switches every uid and gid to the run_as= user (when it
// is root), keeps no capability in any set, and can gain none (no_new_privs). The few system
// calls involved are raw (capget/capset) rather than libcap's: one fewer dependency for two
// structures the kernel defines.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.h"

namespace mdfs::cli {

// A user to run as, with its primary group.
struct RunAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  [[nodiscard]] bool isRoot() const { return uid == 0; }
};

// The user called `name_or_uid` (a name, or a numeric uid that has a passwd entry).
Result<RunAs> lookUpUser(const std::string& name_or_uid);
// run_as's default: the metadatafs user when the system has one, otherwise nobody.
Result<RunAs> defaultRunAs();

// The process's capability sets as /proc/PID/status shows them (bit N is CAP number N).
struct CapabilitySets {
  std::uint64_t effective = 0;
  std::uint64_t permitted = 0;
  std::uint64_t inheritable = 0;
};
Result<CapabilitySets> currentCapabilities();
// CAP_SYS_ADMIN in the effective set: enough to mount and unmount without being root.
bool holdsSysAdmin();

// Switches the real, effective, saved and filesystem uid and gid to `user` and drops the
// supplementary groups (needs root); then checks that none of it can be undone.
Status switchUser(const RunAs& user);

// Empties the bounding set (what an execve could ever grant) but for CAP_SYS_ADMIN when
// `keep_sys_admin`, as far as this process may: it takes CAP_SETPCAP, which a unit's
// CapabilityBoundingSet may have removed already. Call before switchUser.
void dropBoundingSet(bool keep_sys_admin);

// Keeps at most CAP_SYS_ADMIN (`keep_sys_admin`) in the effective, permitted and
// inheritable sets and empties the ambient set; checks the result.
Status limitCapabilities(bool keep_sys_admin);

// Sanitizer builds only: lets LeakSanitizer's tracer attach at exit (a process that changed
// its uids is not dumpable, so not traceable); does nothing in other builds.
void allowSanitizerTracing();

// PR_SET_NO_NEW_PRIVS: no execve can give this process (or a child) more than it has.
Status forbidNewPrivileges();

// What /proc/self/status says of the fields that tell how confined a process is, one per
// line ("Uid:\t65534\t..."), for logs and tests.
std::string confinementSummary();

}  // namespace mdfs::cli
