// What the host must provide for a mount, checked before mounting so that a missing piece
// is named together with its fix, instead of libfuse's line and a generic failure.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.h"

namespace mdfs::cli {

// Where the host keeps what metadatafs needs; tests point these elsewhere.
struct HostPaths {
  std::string fuse_device = "/dev/fuse";
  std::string fuse_conf = "/etc/fuse.conf";  // read by fusermount3
  std::string syslog_socket = "/dev/log";    // where syslog(3) writes
};

// /dev/fuse exists, is a character device and, for root (who opens it directly; other
// users go through the setuid fusermount3), opens. `euid` 0 stands for any process that
// mounts by itself (root, or a service user holding CAP_SYS_ADMIN).
Status checkFuseDevice(const HostPaths& host, uid_t euid);

// allow_other (or allow_root) requested by a user other than root needs the line
// user_allow_other in fuse.conf, or fusermount3 refuses the mount.
Status checkAllowOther(const std::vector<std::string>& fuse_options, uid_t euid,
                       const HostPaths& host);

// True when standard error is systemd's journal stream ($JOURNAL_STREAM names its device
// and inode): a detached daemon keeps logging there, and needs no syslog socket.
bool stderrIsJournal();

// True when something listens on the syslog socket; in containers there often is none,
// and a detached daemon's log would then go nowhere.
bool syslogReachable(const HostPaths& host);

}  // namespace mdfs::cli
