// What is at the mountpoint before mounting, and what metadatafs does about it:
//   missing or not a directory    refused, saying which
//   a symbolic link               resolved: the mount is made at its target, and the
//                                 message says so (fusermount3 -u takes the target)
//   a live metadatafs mount       refused: a second daemon would hide the first
//   a dead FUSE mount (ENOTCONN)  refused with the fix, or with -o recover, when it is a
//                                 metadatafs mount, lazily unmounted and mounted again
//   a non-empty directory         mounted over (libfuse 3 allows it), with a warning
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/log.h"

namespace mdfs::cli {

// The fields of one /proc/self/mountinfo line that metadatafs needs.
struct MountEntry {
  std::string mount_point;  // octal escapes such as \040 decoded
  std::string fstype;       // "fuse.metadatafs"
  std::string device;       // "0:52": tells one mount from a later one at the same place
};

std::vector<MountEntry> parseMountinfo(std::string_view text);
// The topmost (last listed) mount at `path`, or nullopt.
std::optional<MountEntry> topMountAt(const std::vector<MountEntry>& mounts, std::string_view path);

// The absolute path to mount at: `path` with every symbolic link resolved, including a
// last component that links elsewhere. Works on a dead mount (only its parent is
// resolved). Sets `was_link` when the last component was a symbolic link.
Result<std::string> resolveMountpoint(const std::string& path, bool& was_link);

// The topmost mount at `path` in this process's mount namespace, now.
std::optional<MountEntry> currentMountAt(std::string_view path);

// umount -l PATH; fusermount3 -u -z PATH when this process may not unmount by itself.
Status lazyUnmount(const std::string& path);

// Checks the mountpoint as described above and returns where to mount.
Result<std::string> prepareMountpoint(const std::string& mountpoint, bool recover,
                                      const Logger& log);

// When `mountpoint` is a dead FUSE mount ("Transport endpoint is not connected"), the
// message telling how to clean it up; otherwise an empty string.
std::string staleMountAdvice(const std::string& mountpoint);

}  // namespace mdfs::cli
