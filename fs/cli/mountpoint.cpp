#include "cli/mountpoint.h"

#include <dirent.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

extern char** environ;  // NOLINT(readability-redundant-declaration): for posix_spawnp

namespace mdfs::cli {
namespace {

constexpr int kMaxLinks = 40;  // as the kernel's limit on symbolic links in one lookup
constexpr std::string_view kOwnType = "fuse.metadatafs";

std::string errnoText(int err) {
  return std::strerror(err);  // NOLINT(concurrency-mt-unsafe): start-up, one thread
}

Error doesNotExist(const std::string& given) {
  return makeError(ENOENT,
                   "mountpoint " + given + " does not exist (create it: mkdir -p " + given + ")");
}

std::string deadMountAdvice(const std::string& path, bool mention_recover) {
  return path +
         " is a dead FUSE mount (Transport endpoint is not connected): its daemon is gone.\n"
         "Clean it up, then mount again:\n"
         "  fusermount3 -u " +
         path + "   (or: umount -l " + path + ")" +
         (mention_recover ? "\nor add -o recover to do both." : "");
}

// "\040" -> " ": mountinfo escapes space, tab, newline and backslash in octal.
std::string unescapeMountinfo(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      auto octal = field.substr(i + 1, 3);
      if (octal.find_first_not_of("01234567") == std::string_view::npos) {
        out += static_cast<char>((octal[0] - '0') * 64 + (octal[1] - '0') * 8 + (octal[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

std::optional<MountEntry> parseMountinfoLine(const std::string& line) {
  // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
  std::istringstream in(line);
  std::vector<std::string> fields;
  for (std::string f; in >> f;)
    fields.push_back(f);
  std::size_t dash = 6;
  while (dash < fields.size() && fields[dash] != "-")
    ++dash;
  if (fields.size() < 5 || dash + 1 >= fields.size()) return std::nullopt;
  return MountEntry{unescapeMountinfo(fields[4]), fields[dash + 1], fields[2]};
}

std::string dirnameOf(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string basenameOf(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string withoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  return path;
}

Result<std::string> realPath(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> real(realpath(path.c_str(), nullptr), &std::free);
  if (!real) return makeError(errno, errnoText(errno));
  return std::string(real.get());
}

// Follows symbolic links in the last component only; nothing is read through `path`
// itself, so a dead mount there does not stop it.
Result<std::string> followLastLinks(std::string path, bool& was_link) {
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    if (hops == kMaxLinks) return makeError(ELOOP, "too many symbolic links");
    std::string target(PATH_MAX, '\0');
    ssize_t n = readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return makeError(errno, errnoText(errno));
    if (static_cast<std::size_t>(n) == target.size())
      return makeError(ENAMETOOLONG, "link too long");
    target.resize(static_cast<std::size_t>(n));
    path = target.starts_with('/') ? target : dirnameOf(path).append("/").append(target);
    path = withoutTrailingSlashes(path);
    was_link = true;
  }
}

std::vector<MountEntry> currentMounts() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  return parseMountinfo(text.str());
}

bool isEmptyDirectory(const std::string& path) {
  struct Closer {
    void operator()(DIR* d) const noexcept { closedir(d); }
  };
  std::unique_ptr<DIR, Closer> dir(opendir(path.c_str()));
  if (!dir) return true;                          // unreadable: nothing we could warn about
  while (const dirent* e = readdir(dir.get())) {  // NOLINT(concurrency-mt-unsafe): own stream
    std::string_view name = e->d_name;
    if (name != "." && name != "..") return false;
  }
  return true;
}

// fusermount3 -u -z PATH, for when this process may not unmount itself (not root).
Status runFusermountLazy(const std::string& path) {
  std::string program = "fusermount3";
  std::string u = "-u";
  std::string z = "-z";
  std::string target = path;
  char* argv[] = {program.data(), u.data(), z.data(), target.data(), nullptr};
  pid_t pid = 0;
  if (int rc = posix_spawnp(&pid, "fusermount3", nullptr, nullptr, argv, environ); rc != 0) {
    return makeError(rc, "cannot run fusermount3: " + errnoText(rc));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return makeError(EIO, "fusermount3 -u -z " + path + " failed");
  }
  return Ok{};
}

// -o recover: the dead mount at `path` is lazily unmounted when it is metadatafs's own.
Status clearDeadMount(const std::string& path, const Logger& log) {
  auto top = topMountAt(currentMounts(), path);
  if (!top || top->fstype != kOwnType) {
    return makeError(ENOTCONN, path + " is a dead " + (top ? top->fstype : "FUSE") +
                                   " mount; recover clears only metadatafs's own.\n" +
                                   deadMountAdvice(path, false));
  }
  if (auto s = lazyUnmount(path); !s) {
    return makeError(s.error().errnum,
                     "recover: cannot clear the dead mount at " + path + ": " + s.error().message);
  }
  log.warning("recover: " + path +
              " was a dead metadatafs mount (its daemon is gone); cleared it with a lazy "
              "unmount");
  return Ok{};
}

bool isDeadMount(const std::string& path) {
  // statfs always reaches the filesystem (stat may be answered from the kernel's cache
  // of a dead mount's root), so a dead FUSE mount always says ENOTCONN here.
  struct statfs fs {};
  return statfs(path.c_str(), &fs) != 0 && errno == ENOTCONN;
}

Status checkDirectory(const std::string& given, const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return doesNotExist(given);
    return makeError(err, "mountpoint " + given + ": " + errnoText(err));
  }
  if (!S_ISDIR(st.st_mode)) {
    return makeError(ENOTDIR, "mountpoint " + given + " is not a directory");
  }
  return Ok{};
}

}  // namespace

std::vector<MountEntry> parseMountinfo(std::string_view text) {
  std::vector<MountEntry> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (auto e = parseMountinfoLine(line)) out.push_back(std::move(*e));
  }
  return out;
}

std::optional<MountEntry> currentMountAt(std::string_view path) {
  return topMountAt(currentMounts(), path);
}

Status lazyUnmount(const std::string& path) {
  if (umount2(path.c_str(), MNT_DETACH) == 0) return Ok{};
  if (errno != EPERM) return makeError(errno, "umount -l " + path + ": " + errnoText(errno));
  return runFusermountLazy(path);
}

std::optional<MountEntry> topMountAt(const std::vector<MountEntry>& mounts, std::string_view path) {
  std::optional<MountEntry> top;
  for (const auto& m : mounts) {
    if (m.mount_point == path) top = m;
  }
  return top;
}

Result<std::string> resolveMountpoint(const std::string& path, bool& was_link) {
  was_link = false;
  auto last = followLastLinks(withoutTrailingSlashes(path), was_link);
  if (!last) return last.error();
  const std::string name = basenameOf(*last);
  if (name.empty() || name == "." || name == "..") return realPath(*last);
  auto parent = realPath(dirnameOf(*last));
  if (!parent) return parent.error();
  return (*parent == "/" ? "" : *parent) + "/" + name;
}

Result<std::string> prepareMountpoint(const std::string& mountpoint, bool recover,
                                      const Logger& log) {
  bool was_link = false;
  auto path = resolveMountpoint(mountpoint, was_link);
  if (!path) {
    if (path.error().errnum == ENOENT) return doesNotExist(mountpoint);
    return makeError(path.error().errnum, "mountpoint " + mountpoint + ": " + path.error().message);
  }
  if (isDeadMount(*path)) {
    if (!recover) return makeError(ENOTCONN, deadMountAdvice(*path, true));
    if (auto s = clearDeadMount(*path, log); !s) return s.error();
  }
  if (auto s = checkDirectory(mountpoint, *path); !s) return s.error();
  auto top = topMountAt(currentMounts(), *path);
  if (top && top->fstype == kOwnType) {
    return makeError(EBUSY, *path +
                                " is already a metadatafs mount, served by another daemon: "
                                "unmount it first (fusermount3 -u " +
                                *path + ") or choose another mountpoint");
  }
  if (was_link) {
    log.info("mountpoint " + mountpoint + " is a symbolic link: mounting at its target " + *path +
             " (unmount with: fusermount3 -u " + *path + ")");
  }
  if (!isEmptyDirectory(*path)) {
    log.warning("mountpoint " + *path +
                " is not empty: its entries are hidden while metadatafs "
                "is mounted there");
  }
  return path;
}

std::string staleMountAdvice(const std::string& mountpoint) {
  return isDeadMount(mountpoint) ? deadMountAdvice(mountpoint, true) : std::string();
}

}  // namespace mdfs::cli
