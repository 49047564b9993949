#include "cli/syscall_filter.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <set>

#include "cli/build_flags.h"

namespace mdfs::cli {
namespace {

// How a call is allowed: always, or only with arguments that keep it harmless.
enum class When {
  always,
  socket_family,     // socket(): AF_UNIX (syslog), AF_INET, AF_INET6 only
  unix_pair,         // socketpair(): AF_UNIX only
  no_namespaces,     // clone(): threads, never new namespaces
  read_only,         // openat(): never for writing, creating or truncating
  terminal_queries,  // ioctl(): FIONREAD, FIONBIO, TCGETS only
  thread_names,      // prctl(): PR_SET_NAME, PR_GET_NAME only
  own_process,       // tgkill(): signals to this process's own threads only
  enosys,            // answered ENOSYS: clone3 cannot be checked, glibc falls back to clone
};

struct Rule {
  const char* name;
  When when = When::always;
};

// The daemon, grouped by what needs the calls. Listed by name for every architecture that
// metadatafs builds on; names an architecture lacks (the legacy x86-64 stat family) are
// skipped when installing.
constexpr Rule kDaemon[] = {
    // memory (malloc, thread stacks, dlopen of NSS modules by getaddrinfo)
    {"brk"},
    {"mmap"},
    {"munmap"},
    {"mremap"},
    {"mprotect"},
    {"madvise"},
    // threads and their synchronisation
    {"clone", When::no_namespaces},
    {"clone3", When::enosys},
    {"futex"},
    {"set_robust_list"},
    {"rseq"},
    {"set_tid_address"},
    {"sched_yield"},
    {"sched_getaffinity"},
    {"exit"},
    {"exit_group"},
    {"gettid"},
    {"getpid"},
    {"prctl", When::thread_names},
    // time
    {"nanosleep"},
    {"clock_nanosleep"},
    {"clock_gettime"},
    {"clock_getres"},
    {"gettimeofday"},
    {"time"},
    // signals: the signal thread (sigwait), wake-ups between threads, the SIGSYS report
    {"rt_sigaction"},
    {"rt_sigprocmask"},
    {"rt_sigreturn"},
    {"rt_sigtimedwait"},
    {"sigaltstack"},
    {"restart_syscall"},
    {"tgkill", When::own_process},
    // the FUSE device (read, writev), logging, reading the CA bundle and resolver files
    {"read"},
    {"readv"},
    {"pread64"},
    {"write"},
    {"writev"},
    {"close"},
    {"lseek"},
    {"openat", When::read_only},
    {"fstat"},
    {"newfstatat"},
    {"stat"},
    {"lstat"},
    {"statx"},
    {"fcntl"},
    {"access"},
    {"faccessat"},
    {"faccessat2"},
    {"ioctl", When::terminal_queries},
    // HTTP (libcurl) and syslog(3)
    {"socket", When::socket_family},
    {"socketpair", When::unix_pair},
    {"connect"},
    {"getsockopt"},
    {"setsockopt"},
    {"getsockname"},
    {"getpeername"},
    {"sendto"},
    {"sendmsg"},
    {"sendmmsg"},
    {"recvfrom"},
    {"recvmsg"},
    {"shutdown"},
    {"poll"},
    {"ppoll"},
    {"pipe2"},
    {"eventfd2"},
    {"getrandom"},
    {"uname"},
    {"sysinfo"},
    // identity queries, harmless
    {"getuid"},
    {"geteuid"},
    {"getgid"},
    {"getegid"},
    // reaping the unmount keeper at the end
    {"wait4"},
};

constexpr Rule kKeeper[] = {
    {"read"},
    {"write"},
    {"close"},
    {"exit"},
    {"exit_group"},
    {"brk"},
    {"mmap"},
    {"munmap"},
    {"mremap"},
    {"madvise"},
    {"futex"},
    {"getpid"},
    {"gettid"},
    {"rt_sigreturn"},
    {"rt_sigprocmask"},
    {"rt_sigaction"},
    {"restart_syscall"},
    {"tgkill", When::own_process},
    // /proc/self/mountinfo: is our mount still there?
    {"openat", When::read_only},
    {"fstat"},
    {"newfstatat"},
    {"lseek"},
    // what it is for
    {"umount2"},
};

// What sanitizer runtimes call on their own: LeakSanitizer stops the world at exit with a
// tracer task (clone, ptrace, wait4, prctl PR_SET_PTRACER), reports start a symbolizer,
// and their allocators and background threads use a few more.
constexpr Rule kSanitizer[] = {
    // clang-format off
    {"sigaltstack"}, {"sched_yield"}, {"nanosleep"}, {"clock_nanosleep"}, {"gettid"},
    {"getdents"},
    // TSan starts a background thread in the keeper too: a thread's set-up and its clock.
    {"gettimeofday"}, {"clock_gettime"}, {"rseq"}, {"set_robust_list"}, {"mprotect"},
    {"clone3", When::enosys},
    // clang-format on
    {"ptrace"},
    {"wait4"},
    {"waitid"},
    {"prctl"},
    {"execve"},
    {"vfork"},
    {"kill"},
    {"readlink"},
    {"readlinkat"},
    {"getdents64"},
    {"pipe"},
    {"dup2"},
    {"dup3"},
    {"sched_getaffinity"},
    {"getppid"},
    {"prlimit64"},
    {"getrlimit"},
    {"setrlimit"},
    {"mincore"},
    {"clone"},
    {"openat"},
    {"open"},
    {"unlink"},
    {"unlinkat"},
    {"getcwd"},
};

// The names the SIGSYS handler reports, resolved before the filter is installed (the
// handler may not allocate). A signal handler has no other way to reach them: the one
// global of this file.
constexpr int kNamedSyscalls = 512;
struct SyscallNames {
  std::array<char[40], kNamedSyscalls> names{};
};
SyscallNames* g_names = nullptr;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

void prepareNames() {
  if (g_names != nullptr) return;
  static SyscallNames names;  // lives as long as the filter: until the process ends
  for (int nr = 0; nr < kNamedSyscalls; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name == nullptr) continue;
    std::strncpy(names.names[static_cast<std::size_t>(nr)], name, sizeof names.names[0] - 1);
    std::free(name);  // NOLINT(cppcoreguidelines-no-malloc): libseccomp's allocation
  }
  g_names = &names;
}

// Async-signal-safe formatting into a fixed buffer.
struct Line {
  char text[160];
  std::size_t used = 0;
  void add(const char* s) {
    while (*s != '\0' && used < sizeof text)
      text[used++] = *s++;
  }
  void add(long n) {
    char digits[24];
    int k = 0;
    bool negative = n < 0;
    unsigned long v =
        negative ? 0UL - static_cast<unsigned long>(n) : static_cast<unsigned long>(n);
    do {
      digits[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0 && k < 23);
    if (negative) add("-");
    while (k > 0 && used < sizeof text)
      text[used++] = digits[--k];
  }
};

void reportTrappedCall(int /*sig*/, siginfo_t* info, void* /*context*/) {
  const int nr = info->si_syscall;
  const char* name = "?";
  if (g_names != nullptr && nr >= 0 && nr < kNamedSyscalls &&
      g_names->names[static_cast<std::size_t>(nr)][0] != '\0') {
    name = g_names->names[static_cast<std::size_t>(nr)];
  }
  Line line;
  line.add("metadatafs[");
  line.add(static_cast<long>(getpid()));
  line.add("]: error: seccomp: system call ");
  line.add(name);
  line.add(" (");
  line.add(static_cast<long>(nr));
  line.add(") is not allowed; stopping (SIGSYS)\n");
  (void)!write(STDERR_FILENO, line.text, line.used);
  // Die of SIGSYS, as SCMP_ACT_KILL_PROCESS would: restore the default and raise it again.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGSYS, &dfl, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGSYS);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  raise(SIGSYS);
}

// libseccomp's SCMP_A0() and friends are C compound literals, which C++ compilers only
// accept as an extension (clang warns): the same comparison, built field by field.
scmp_arg_cmp argCmp(unsigned arg, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  scmp_arg_cmp c{};
  c.arg = arg;
  c.op = op;
  c.datum_a = a;
  c.datum_b = b;
  return c;
}

int addRule(scmp_filter_ctx ctx, int nr, When when) {
  constexpr std::uint64_t kNamespaces = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                        CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
  constexpr std::uint64_t kWriting = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_TMPFILE;
  const auto allow = SCMP_ACT_ALLOW;
  switch (when) {
    case When::always:
      return seccomp_rule_add(ctx, allow, nr, 0);
    case When::socket_family:
      for (scmp_datum_t family : {AF_UNIX, AF_INET, AF_INET6}) {
        if (int rc = seccomp_rule_add(ctx, allow, nr, 1, argCmp(0, SCMP_CMP_EQ, family)); rc != 0)
          return rc;
      }
      return 0;
    case When::unix_pair:
      return seccomp_rule_add(ctx, allow, nr, 1, argCmp(0, SCMP_CMP_EQ, AF_UNIX));
    case When::no_namespaces:
      return seccomp_rule_add(ctx, allow, nr, 1, argCmp(0, SCMP_CMP_MASKED_EQ, kNamespaces, 0));
    case When::read_only:
      return seccomp_rule_add(ctx, allow, nr, 1, argCmp(2, SCMP_CMP_MASKED_EQ, kWriting, 0));
    case When::terminal_queries:
      for (unsigned long request : {FIONREAD, FIONBIO, TCGETS}) {
        if (int rc = seccomp_rule_add(ctx, allow, nr, 1, argCmp(1, SCMP_CMP_EQ, request)); rc != 0)
          return rc;
      }
      return 0;
    case When::thread_names:
      for (scmp_datum_t option : {PR_SET_NAME, PR_GET_NAME}) {
        if (int rc = seccomp_rule_add(ctx, allow, nr, 1, argCmp(0, SCMP_CMP_EQ, option)); rc != 0)
          return rc;
      }
      return 0;
    case When::own_process:
      return seccomp_rule_add(ctx, allow, nr, 1,
                              argCmp(0, SCMP_CMP_EQ, static_cast<std::uint64_t>(getpid())));
    case When::enosys:
      return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
  }
  return -EINVAL;
}

template <std::size_t N>
void append(std::vector<Rule>& out, const Rule (&rules)[N]) {
  out.insert(out.end(), std::begin(rules), std::end(rules));
}

std::vector<Rule> rulesFor(FilterFor who) {
  std::vector<Rule> rules;
  if (who == FilterFor::daemon) {
    append(rules, kDaemon);
  } else {
    append(rules, kKeeper);
  }
  if (MDFS_SANITIZER_BUILD) {
    // A sanitizer build relaxes the filter: these replace the conditions on prctl, clone
    // and openat above (an unconditional rule wins over a conditional one).
    append(rules, kSanitizer);
  }
  return rules;
}

struct FilterDeleter {
  void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};

Status installTrapHandler() {
  prepareNames();
  struct sigaction sa {};
  sa.sa_sigaction = reportTrappedCall;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) != 0) return makeError(errno, "cannot handle SIGSYS");
  return Ok{};
}

}  // namespace

std::vector<std::string> allowedSyscalls(FilterFor who) {
  std::vector<std::string> names;
  for (const Rule& r : rulesFor(who)) {
    if (r.when != When::enosys) names.emplace_back(r.name);
  }
  return names;
}

Result<std::size_t> installSyscallFilter(FilterFor who) {
  if (auto s = installTrapHandler(); !s) return s.error();
  std::unique_ptr<void, FilterDeleter> ctx(seccomp_init(SCMP_ACT_TRAP));
  if (!ctx) return makeError(ENOMEM, "seccomp_init failed");
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1);
  std::vector<Rule> rules = rulesFor(who);
  std::set<int> allowed;
  for (const Rule& r : rules) {
    int nr = seccomp_syscall_resolve_name(r.name);
    if (nr == __NR_SCMP_ERROR) continue;  // not a call of this architecture
    int rc = addRule(ctx.get(), nr, r.when);
    if (rc == -EEXIST) continue;  // a sanitizer's unconditional rule after a conditional one
    if (rc != 0) {
      return makeError(-rc, std::string("seccomp: cannot add a rule for ") + r.name + ": " +
                                std::strerror(-rc));  // NOLINT(concurrency-mt-unsafe)
    }
    if (r.when != When::enosys) allowed.insert(nr);
  }
  if (int rc = seccomp_load(ctx.get()); rc != 0) {
    return makeError(-rc, std::string("seccomp: cannot load the filter: ") +
                              std::strerror(-rc));  // NOLINT(concurrency-mt-unsafe)
  }
  return allowed.size();
}

}  // namespace mdfs::cli
