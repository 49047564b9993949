// The seccomp filters of the two metadatafs processes (libseccomp), allow lists both.
//
// A system call outside the list is trapped (SCMP_ACT_TRAP) rather than answered with an
// errno: the SIGSYS handler writes "seccomp: system call NAME (NR) is not allowed" on
// standard error (the journal under systemd, the log file of a test) and the process then
// dies of SIGSYS, as SCMP_ACT_KILL_PROCESS would have killed it. An errno would have
// reached the code as a plausible failure (a read answered EIO, a connection refused) and
// hidden the missing entry; a kill without the name would have left only "signal 31". The
// trap never runs the call, so an attacker gains nothing from it that a kill would deny.
//
// The filter applies to every thread (installed with TSYNC, and before serve() starts any),
// and is never removed. Sanitizer builds add the calls their runtimes make (leak checking
// stops the world with ptrace, reports run a symbolizer): said where the lists are.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/error.h"

namespace mdfs::cli {

enum class FilterFor {
  daemon,  // the process that serves FUSE requests and talks HTTP
  keeper,  // the unmount keeper: waits, then unmounts (cli/unmount_keeper.h)
};

// Every system call name the filter allows (some with argument conditions), whether or not
// this architecture or libseccomp knows it.
std::vector<std::string> allowedSyscalls(FilterFor who);

// Installs the filter for `who` in the calling process; returns how many system calls it
// allows on this architecture. Needs no_new_privs (or CAP_SYS_ADMIN).
Result<std::size_t> installSyscallFilter(FilterFor who);

}  // namespace mdfs::cli
