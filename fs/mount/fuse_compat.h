// The one place that includes libfuse. metadatafs builds against libfuse 3.10 (Debian 11,
// Ubuntu 22.04, RHEL 9) through 3.17 (Debian 13); what differs between those releases is
// decided here at compile time, from FUSE_VERSION and the FUSE_CAP_* macros, and every
// fallback is described by fallbacks() so that the daemon can say so once at start-up.
//
// FUSE_USE_VERSION 312 is the lowest API level with what the filesystem uses: the loop
// configuration of libfuse 3.12 that caps the worker threads. Headers older than 3.12 know
// no level above 3.5 and give their newest API for it; FUSE_VERSION tells them apart.
#pragma once

#ifdef FUSE_USE_VERSION
#error "include mount/fuse_compat.h instead of defining FUSE_USE_VERSION"
#endif
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <fuse_opt.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

// FUSE_MAKE_VERSION is major * 100 + minor from 3.10 on.
#define MDFS_FUSE_AT_LEAST(major, minor) (FUSE_VERSION >= FUSE_MAKE_VERSION(major, minor))

// libfuse 3.12: fuse_loop_cfg_*, with a cap on the number of worker threads.
#define MDFS_FUSE_HAS_LOOP_CONFIG MDFS_FUSE_AT_LEAST(3, 12)
// libfuse 3.16: fuse_lowlevel_notify_expire_entry (expire a name without dropping it;
// the kernel must also offer FUSE_CAP_EXPIRE_ONLY). Not used yet.
#define MDFS_FUSE_HAS_EXPIRE_ENTRY MDFS_FUSE_AT_LEAST(3, 16)
// libfuse 3.14 (at the latest; 3.10 has not): fuse_session_custom_io, the session's own
// reads and writes on /dev/fuse. metadatafs uses them to see which requests are still
// unanswered (a stop answers them first) and, before 3.17, to pass parallel directory
// operations to the kernel.
#define MDFS_FUSE_HAS_CUSTOM_IO MDFS_FUSE_AT_LEAST(3, 14)
// libfuse 3.17: 64-bit capability words (capable_ext, want_ext) and their accessors.
#define MDFS_FUSE_HAS_FEATURE_FLAGS MDFS_FUSE_AT_LEAST(3, 17)
// The kernel's handle of the open file that polls (`kh` of FUSE_POLL) is what tells one
// poller from another while opens are skipped (mount/poll_registry.h), and libfuse keeps it
// in its opaque struct fuse_pollhandle. Read from the source of every release from 3.10.0 to
// 3.18.2 (lib/fuse_lowlevel.c): `struct fuse_pollhandle { uint64_t kh; struct fuse_session
// *se; }`, allocated by do_poll() with `kh` set from the request. Other releases, at build
// time or at run time, get the fallback: poll(2) is not offered (see fallbacks()).
#define MDFS_FUSE_POLLHANDLE_KH_KNOWN \
  (MDFS_FUSE_AT_LEAST(3, 10) && FUSE_VERSION <= FUSE_MAKE_VERSION(3, 18))

namespace mdfs::mount::fuse_compat {

// The capability words moved to 64 bits in libfuse 3.17; writing the old 32-bit `want`
// there is deprecated and mixing both is refused.
inline bool capable(const fuse_conn_info* conn, std::uint64_t flag) {
#if MDFS_FUSE_HAS_FEATURE_FLAGS
  return (conn->capable_ext & flag) != 0;
#else
  return (conn->capable & flag) != 0;
#endif
}

// Asks for `flag` when the kernel offers it; true when asked.
inline bool want(fuse_conn_info* conn, std::uint64_t flag) {
  if (!capable(conn, flag)) return false;
#if MDFS_FUSE_HAS_FEATURE_FLAGS
  return fuse_set_feature_flag(conn, flag);
#else
  conn->want |= static_cast<unsigned>(flag);
  return true;
#endif
}

inline void unwant(fuse_conn_info* conn, std::uint64_t flag) {
#if MDFS_FUSE_HAS_FEATURE_FLAGS
  fuse_unset_feature_flag(conn, flag);
#else
  conn->want &= ~static_cast<unsigned>(flag);
#endif
}

// Whether the libfuse in use keeps `kh` where this build reads it.
inline bool pollHandleKnown() {
#if MDFS_FUSE_POLLHANDLE_KH_KNOWN
  return fuse_version() >= FUSE_MAKE_VERSION(3, 10) && fuse_version() <= FUSE_MAKE_VERSION(3, 18);
#else
  return false;
#endif
}

// The kernel's handle of the open file behind a poll handle: the first member of
// libfuse's struct fuse_pollhandle in the releases named above.
inline std::optional<std::uint64_t> pollKernelHandle(const fuse_pollhandle* ph) {
  if (ph == nullptr || !pollHandleKnown()) return std::nullopt;
  std::uint64_t kh = 0;
  std::memcpy(&kh, static_cast<const void*>(ph), sizeof kh);
  return kh;
}

inline std::string versionText(int version) {
  return std::to_string(version / 100) + "." + std::to_string(version % 100);
}

// What metadatafs does differently because of the libfuse it was built against or runs
// with, one sentence each; empty with libfuse 3.14 to 3.18.
inline std::vector<std::string> fallbacks(unsigned max_threads) {
  std::vector<std::string> out;
#if !MDFS_FUSE_HAS_LOOP_CONFIG
  out.push_back("built against libfuse " + versionText(FUSE_VERSION) +
                ", which cannot cap its worker threads (3.12 can): max_threads=" +
                std::to_string(max_threads) + " is not applied");
#else
  (void)max_threads;
#endif
#if !MDFS_FUSE_HAS_CUSTOM_IO
  // Releases before 3.17 accept FUSE_CAP_PARALLEL_DIROPS and never pass it on to the
  // kernel; metadatafs adds it itself through the session's own I/O, which 3.10 lacks.
  out.push_back("built against libfuse " + versionText(FUSE_VERSION) +
                ", which has no session I/O hooks (3.14 has): lookups in one directory are "
                "answered one at a time, and a stop does not wait for calls in progress");
#endif
  if (!pollHandleKnown()) {
    out.push_back("libfuse " + versionText(fuse_version()) +
                  " keeps its poll handles in a layout this build does not know (3.10 to 3.18 "
                  "are known): poll(2) on files is not offered, so files never signal a "
                  "change and metadatafs watch never wakes");
  }
  return out;
}

}  // namespace mdfs::mount::fuse_compat
