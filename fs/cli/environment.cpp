#include "cli/environment.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace mdfs::cli {
namespace {

std::string errnoText(int err) {
  return std::strerror(err);  // NOLINT(concurrency-mt-unsafe): start-up, one thread
}

// fusermount3's reading of fuse.conf: a line holding only user_allow_other, comments
// starting at '#'.
bool allowsOther(const std::string& fuse_conf) {
  std::ifstream in(fuse_conf);
  for (std::string line; std::getline(in, line);) {
    line.erase(std::min(line.find('#'), line.size()));
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line == "user_allow_other") return true;
  }
  return false;
}

bool connects(const std::string& path, int type) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

Status checkFuseDevice(const HostPaths& host, uid_t euid) {
  const std::string& dev = host.fuse_device;
  struct stat st {};
  if (stat(dev.c_str(), &st) != 0) {
    return makeError(ENODEV,
                     "no " + dev +
                         ": the fuse kernel module is not loaded (modprobe fuse), or this "
                         "container was started without the device (e.g. docker run --device "
                         "/dev/fuse --cap-add SYS_ADMIN)");
  }
  if (!S_ISCHR(st.st_mode)) {
    return makeError(ENODEV, dev +
                                 " is not a character device: it should be the FUSE device "
                                 "(character device 10,229)");
  }
  if (euid != 0) return Ok{};
  int fd = open(dev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return makeError(err, "cannot open " + dev + " (" + errnoText(err) +
                              "): in a container, allow the device (e.g. docker run --device "
                              "/dev/fuse --cap-add SYS_ADMIN)");
  }
  close(fd);
  return Ok{};
}

Status checkAllowOther(const std::vector<std::string>& fuse_options, uid_t euid,
                       const HostPaths& host) {
  if (euid == 0) return Ok{};
  for (const char* option : {"allow_other", "allow_root"}) {
    if (std::find(fuse_options.begin(), fuse_options.end(), option) == fuse_options.end()) {
      continue;
    }
    if (allowsOther(host.fuse_conf)) return Ok{};
    return makeError(EPERM, std::string(option) + " needs the line user_allow_other in " +
                                host.fuse_conf + " when a user other than root mounts " +
                                "(fusermount3 refuses it otherwise): add that line as root, " +
                                "mount as root, or leave out " + option);
  }
  return Ok{};
}

bool stderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");  // NOLINT(concurrency-mt-unsafe): start-up
  struct stat st {};
  if (stream == nullptr || fstat(STDERR_FILENO, &st) != 0) return false;
  return std::string(stream) == std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

bool syslogReachable(const HostPaths& host) {
  // syslog(3) tries a datagram socket first, then a stream socket.
  return connects(host.syslog_socket, SOCK_DGRAM) || connects(host.syslog_socket, SOCK_STREAM);
}

}  // namespace mdfs::cli
