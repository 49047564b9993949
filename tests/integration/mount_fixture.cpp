#include "integration/mount_fixture.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;

std::string envOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only environment
  return v != nullptr ? v : fallback;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tempPath(const char* pattern) {
  std::string t = "/tmp/" + std::string(pattern) + "XXXXXX";
  int fd = mkstemp(t.data());
  if (fd >= 0) close(fd);
  return t;
}

}  // namespace

std::string buildDir() {
  return envOr("MDFS_BUILD_DIR", MDFS_BUILD_DIR);
}
std::string sourceDir() {
  return envOr("MDFS_SOURCE_DIR", MDFS_SOURCE_DIR);
}

std::string quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandResult run(const std::string& command, std::chrono::seconds timeout) {
  std::string out = tempPath("mdfs-out-");
  std::string err = tempPath("mdfs-err-");
  std::string line = "timeout -k 5 " + std::to_string(timeout.count()) + " /bin/sh -c " +
                     quote(command) + " >" + out + " 2>" + err;
  int rc = std::system(line.c_str());  // NOLINT(concurrency-mt-unsafe): tests run commands serially
  CommandResult r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  if (r.status == 124 || r.status == 137) r.status = -1;
  r.out = slurp(out);
  r.err = slurp(err);
  unlink(out.c_str());
  unlink(err.c_str());
  return r;
}

CommandResult runInPrivateMountNamespace(const std::string& script, std::chrono::seconds timeout) {
  std::string prelude =
      "set -e\n"
      "cd /\n"
      "findmnt -rn -t fuse.metadatafs -o TARGET | while read -r m; do umount -l \"$m\"; done\n"
      "use_build_binary() {\n"
      "  mount -t tmpfs mdfs-test-bin /usr/local/bin\n"
      "  ln -s " +
      quote(buildDir() + "/metadatafs") +
      " /usr/local/bin/metadatafs\n"
      "}\n"
      "daemons_under() {\n"
      "  for p in $(pgrep -x metadatafs); do\n"
      "    tr '\\0' ' ' </proc/$p/cmdline | grep -qF \" $1\" && echo $p\n"
      "  done\n"
      "  true\n"
      "}\n"
      "gone() { ! [ -e /proc/$1 ] || grep -q '^State:.*Z' /proc/$1/status; }\n"
      "unmount_and_wait() {\n"
      "  pids=\n"
      "  for d in \"$@\"; do pids=\"$pids $(daemons_under \"$d\")\"; done\n"
      "  umount \"$@\"\n"
      "  for p in $pids; do\n"
      "    for i in $(seq 200); do gone $p && break; sleep 0.05; done\n"
      "    gone $p || { echo \"daemon $p still running after umount\" >&2; exit 1; }\n"
      "  done\n"
      "}\n";
  return run("unshare -m --propagation private sh -c " + quote(prelude + script), timeout);
}

bool isMounted(const std::string& path) {
  std::ifstream in("/proc/mounts");
  std::string dev;
  std::string mp;
  std::string type;
  std::string rest;
  while (in >> dev >> mp >> type && std::getline(in, rest)) {
    if (mp == path && type == "fuse.metadatafs") return true;
  }
  return false;
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

struct stat statOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st;
}

std::int64_t mtimeNs(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::vector<pid_t> daemonPids(const std::string& dir) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string comm = slurp(entry.path().string() + "/comm");
    if (comm != "metadatafs\n") continue;
    std::string cmdline = slurp(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(" " + dir + " ") != std::string::npos ||
        cmdline.find(" " + dir + "\n") != std::string::npos || cmdline.ends_with(" " + dir)) {
      out.push_back(static_cast<pid_t>(std::stoi(name)));
    }
  }
  return out;
}

std::string readFile(const std::string& path, int* error) {
  std::string data;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error != nullptr) *error = errno;
    return data;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (error != nullptr) *error = errno;
      close(fd);
      return data;
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  if (error != nullptr) *error = 0;
  return data;
}

Mount::Mount(const emu::Emulator& emulator, const std::vector<std::string>& options) {
  char dir[] = "/tmp/mdfs-mnt-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  dir_ = dir;
  log_path_ = dir_ + ".log";
  std::string opts = "endpoint=" + emulator.url();
  // The emulator's cloud unless the test chooses (cloud=auto would read this machine's DMI).
  const bool chosen = std::any_of(options.begin(), options.end(),
                                  [](const std::string& o) { return o.rfind("cloud=", 0) == 0; });
  if (!chosen) opts += ",cloud=" + std::string(emu::cloudName(emulator.cloud()));
  for (const auto& o : options)
    opts += "," + o;
  std::string binary = buildDir() + "/metadatafs";
  std::vector<std::string> args = {binary, dir_, "-f", "-o", opts};

  pid_ = fork();
  if (pid_ == 0) {
    // The daemon must never outlive the test: a dead test process unmounts it.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  mounted_ = waitMounted();
  if (!mounted_) ADD_FAILURE() << "metadatafs did not mount " << dir_ << ":\n" << log();
  // The whole suite runs under the daemon's seccomp filter (issue 13): a system call it
  // lacks kills the daemon with its name in the log, failing the test that needed it.
  bool as_root = std::find(options.begin(), options.end(), "run_as=root") != options.end();
  if (mounted_ && geteuid() == 0 && !as_root && !waitFor([&] { return confined(pid_); }, 5s)) {
    ADD_FAILURE() << "the daemon serving " << dir_ << " is not confined (Seccomp: 2)";
  }
}

bool Mount::confined(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Seccomp:", 0) == 0) return line.find('2') != std::string::npos;
  }
  return false;
}

bool Mount::waitMounted() {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (isMounted(dir_)) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

std::string Mount::log() const {
  return slurp(log_path_);
}

void Mount::crash() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  status_ = 0;
}

int Mount::waitExit(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return status_;
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(pid_, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  if (done != pid_) return -1;
  pid_ = -1;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return status_;
}

int Mount::stop(int signal) {
  if (pid_ > 0) {
    kill(pid_, signal);
    auto deadline = std::chrono::steady_clock::now() + 30s;
    int status = 0;
    pid_t done = 0;
    while ((done = waitpid(pid_, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    if (done == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      status_ = -1;
    }
    pid_ = -1;
  }
  if (!dir_.empty() && isMounted(dir_)) {
    run("fusermount3 -uz " + quote(dir_), 10s);
  }
  mounted_ = false;
  return status_;
}

Mount::~Mount() {
  int status = stop();
  if (status != 0) {
    ADD_FAILURE() << "metadatafs exited with status " << status << "; log:\n" << log();
  }
  if (!dir_.empty()) {
    rmdir(dir_.c_str());
    unlink(log_path_.c_str());
  }
}

}  // namespace mdfs::itest
