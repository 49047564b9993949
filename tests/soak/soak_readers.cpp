// soak_readers: the readers of scripts/soak.sh. N threads walk a whole metadatafs tree
// over and over with the syscalls `find` and `cat` make (openat, getdents64, fstatat,
// readlinkat, fstat, read, close), each timed, and judge every answer against a reference
// walk made at start-up while the service is healthy.
//
//   soak_readers --root DIR --phase-file FILE --limit-ms L [--threads N] [--progress FILE]
//
// The phase file holds one word written by the soak script: "healthy", or the name of the
// fault the emulator is in (or about to be in). The script writes a fault's name before it
// applies the fault and writes "healthy" only after the fault is cleared, so a reader that
// trusts the file is never told "healthy" while the service is faulted.
//
// What counts as a defect (each is printed; the exit status is then 1):
//  - an errno other than EIO, ETIMEDOUT or EACCES (the documented outcomes of a failing
//    service), or one of those three from a call that did not overlap a fault phase;
//  - ENOENT for a path of the reference tree (the scenario never changes, so the service
//    never lost it). ENOENT is the truth for a name outside the reference: a listing made
//    while an endpoint's existence could not be learnt shows it, and it is absent;
//  - any call that took longer than --limit-ms, or is still running after it;
//  - a read whose bytes differ from the reference, or whose length differs from st_size;
//  - a type or symlink target other than the reference's;
//  - a listing, made wholly outside fault phases, that differs from the reference listing.
//
// --progress FILE is rewritten every 500 ms with one line of key=value counters. SIGTERM or
// SIGINT ends the run: the threads finish their current call, a summary is printed, and
// the exit status is 0 when no defect was seen.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::int64_t nowNs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string errnoName(int e) {
  switch (e) {
    case EIO:
      return "EIO";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case EACCES:
      return "EACCES";
    case ENOENT:
      return "ENOENT";
    case ENOTCONN:
      return "ENOTCONN";
    case ESTALE:
      return "ESTALE";
    case EINVAL:
      return "EINVAL";
    case EINTR:
      return "EINTR";
    case ENOTDIR:
      return "ENOTDIR";
    case EISDIR:
      return "EISDIR";
    case ENOMEM:
      return "ENOMEM";
    case EAGAIN:
      return "EAGAIN";
    case ENXIO:
      return "ENXIO";
    case EBADF:
      return "EBADF";
    default:
      return "errno " + std::to_string(e);
  }
}

// ------------------------------------------------------------------ the reference tree

struct RefNode {
  char type = 0;                  // 'd', 'f' or 'l'
  std::string data;               // file bytes or link target
  std::set<std::string> entries;  // directory entries, without . and ..
};
using Reference = std::map<std::string, RefNode>;  // by path relative to the root ("" = root)

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

bool readAll(int fd, std::string& out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// Directory entries by getdents64, "." and ".." left out; false (errno set) on failure.
bool listNames(int dirfd, std::vector<std::string>& names) {
  alignas(8) char buf[32768];
  for (;;) {
    long n = syscall(SYS_getdents64, dirfd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      std::string name = d->d_name;
      if (name != "." && name != "..") names.push_back(name);
      off += d->d_reclen;
    }
  }
}

// The walk at start-up, with the service healthy: any failure is fatal.
bool buildReference(int dirfd, const std::string& dir, Reference& ref, std::string& why) {
  std::vector<std::string> names;
  if (!listNames(dirfd, names)) {
    why = "listing /" + dir + ": " + errnoName(errno);
    return false;
  }
  RefNode& self = ref[dir];
  self.type = 'd';
  self.entries.insert(names.begin(), names.end());
  for (const auto& name : names) {
    std::string path = join(dir, name);
    struct stat st {};
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      why = "stat /" + path + ": " + errnoName(errno);
      return false;
    }
    RefNode node;
    if (S_ISDIR(st.st_mode)) {
      int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) {
        why = "opendir /" + path + ": " + errnoName(errno);
        return false;
      }
      bool ok = buildReference(fd, path, ref, why);
      close(fd);
      if (!ok) return false;
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlinkat(dirfd, name.c_str(), target, sizeof target);
      if (n < 0) {
        why = "readlink /" + path + ": " + errnoName(errno);
        return false;
      }
      node.type = 'l';
      node.data.assign(target, static_cast<std::size_t>(n));
    } else {
      int fd = openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || !readAll(fd, node.data)) {
        why = "read /" + path + ": " + errnoName(errno);
        if (fd >= 0) close(fd);
        return false;
      }
      close(fd);
      node.type = 'f';
    }
    ref[path] = std::move(node);
  }
  return true;
}

// ------------------------------------------------------------------ fault phases

// What the phase file said, and when that was first seen. A reader asks whether a call's
// time span overlapped a fault phase.
class Phases {
 public:
  explicit Phases(std::string file) : file_(std::move(file)) {}

  // Reads the file now and records a change.
  void poll() {
    std::ifstream in(file_);
    std::string word;
    in >> word;
    if (word.empty()) return;  // being replaced; the old word still holds
    std::lock_guard lock(mu_);
    if (!history_.empty() && history_.back().name == word) return;
    history_.push_back({nowNs(), word});
  }

  // True when [start, end] overlapped a phase other than "healthy", or the phase before
  // the first record (the script starts healthy, but nothing is assumed).
  bool faultedDuring(std::int64_t start, std::int64_t end) const {
    std::lock_guard lock(mu_);
    if (history_.empty() || history_.front().since > start) return true;
    for (std::size_t i = 0; i < history_.size(); ++i) {
      std::int64_t from = history_[i].since;
      std::int64_t to = i + 1 < history_.size() ? history_[i + 1].since : INT64_MAX;
      if (to < start || from > end) continue;
      if (history_[i].name != "healthy") return true;
    }
    return false;
  }

  std::string current() const {
    std::lock_guard lock(mu_);
    return history_.empty() ? "?" : history_.back().name;
  }

 private:
  struct Record {
    std::int64_t since;
    std::string name;
  };
  std::string file_;
  mutable std::mutex mu_;
  std::vector<Record> history_;  // guarded by mu_
};

// ------------------------------------------------------------------ outcomes

struct Totals {
  std::uint64_t calls = 0;
  std::uint64_t walks = 0;
  std::uint64_t errors_in_faults = 0;  // documented errnos during fault phases
  std::uint64_t defects = 0;
  std::uint64_t listings_checked = 0;  // listings compared with the reference
  std::int64_t max_ns = 0;
  std::string max_call;
  std::map<std::string, std::uint64_t> errnos;  // "lookup EIO" -> count

  void add(const Totals& o) {
    calls += o.calls;
    walks += o.walks;
    errors_in_faults += o.errors_in_faults;
    defects += o.defects;
    listings_checked += o.listings_checked;
    if (o.max_ns > max_ns) {
      max_ns = o.max_ns;
      max_call = o.max_call;
    }
    for (const auto& [k, v] : o.errnos)
      errnos[k] += v;
  }
};

// One reader's state, shared with the watchdog: the call in progress and the counters.
struct Slot {
  std::mutex mu;
  Totals totals;             // guarded by mu
  std::int64_t started = 0;  // guarded by mu; 0 when no call is in progress
  std::string call;          // guarded by mu
  bool finished = false;     // guarded by mu; the reader returned
};

// Defects by kind (the message with its numbers blanked): how many, and the first one.
class Defects {
 public:
  void report(const std::string& what) {
    std::string kind = what;
    for (char& c : kind)
      if (c >= '0' && c <= '9') c = '#';
    std::lock_guard lock(mu_);
    ++count_;
    auto [it, fresh] = kinds_.try_emplace(kind, Kind{0, what});
    ++it->second.count;
    if (fresh) {
      struct timespec ts {};
      clock_gettime(CLOCK_REALTIME, &ts);
      char when[32];
      std::snprintf(when, sizeof when, "%lld.%06ld", static_cast<long long>(ts.tv_sec),
                    ts.tv_nsec / 1000);
      std::cerr << when << " soak_readers: DEFECT: " << what << std::endl;
    }
  }
  std::uint64_t count() const {
    std::lock_guard lock(mu_);
    return count_;
  }
  void print(std::ostream& out) const {
    std::lock_guard lock(mu_);
    for (const auto& [kind, k] : kinds_)
      out << "defect: " << k.count << " x " << k.first << "\n";
  }

 private:
  struct Kind {
    std::uint64_t count;
    std::string first;
  };
  mutable std::mutex mu_;
  std::uint64_t count_ = 0;            // guarded by mu_
  std::map<std::string, Kind> kinds_;  // guarded by mu_
};

struct Shared {
  const Reference& ref;
  Phases& phases;
  Defects& defects;
  std::int64_t limit_ns;
  std::atomic<bool>& stop;
};

// ------------------------------------------------------------------ one reader

class Reader {
 public:
  Reader(Shared& shared, Slot& slot, int root_fd, unsigned seed)
      : s_(shared), slot_(slot), root_fd_(root_fd), rng_(seed) {}

  void run() {
    while (!s_.stop) {
      // A fresh descriptor each walk: a listing starts at offset 0.
      int fd = -1;
      if (timed("opendir", "", [&] {
            fd = openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            return fd >= 0;
          })) {
        walk(fd, "");
        timed("closedir", "", [&] { return close(fd) == 0; });
      }
      std::lock_guard lock(slot_.mu);
      ++slot_.totals.walks;
    }
    std::lock_guard lock(slot_.mu);
    slot_.finished = true;
  }

 private:
  // Times one call; `fn` returns true on success (errno set otherwise). False when the
  // call failed, after judging the errno.
  template <class Fn>
  bool timed(const char* op, const std::string& path, Fn&& fn) {
    const std::int64_t start = nowNs();
    {
      std::lock_guard lock(slot_.mu);
      slot_.started = start;
      slot_.call.assign(op).append(" /").append(path);
    }
    const bool ok = fn();
    const int err = errno;
    const std::int64_t end = nowNs();
    const std::int64_t took = end - start;
    bool late = false;
    {
      std::lock_guard lock(slot_.mu);
      slot_.started = 0;
      ++slot_.totals.calls;
      if (took > slot_.totals.max_ns) {
        slot_.totals.max_ns = took;
        slot_.totals.max_call = slot_.call + (ok ? "" : " (" + errnoName(err) + ")");
      }
      late = took > s_.limit_ns;
    }
    if (late) {
      defect(std::string(op) + " /" + path + " took " + std::to_string(took / 1000000) + " ms");
    }
    if (!ok) judgeError(op, path, err, start, end);
    return ok;
  }

  void judgeError(const char* op, const std::string& path, int err, std::int64_t start,
                  std::int64_t end) {
    s_.phases.poll();  // the word the script wrote before this failure is surely seen
    const bool faulted = s_.phases.faultedDuring(start, end);
    const bool known = s_.ref.contains(path);
    const bool documented = err == EIO || err == ETIMEDOUT || err == EACCES;
    {
      std::lock_guard lock(slot_.mu);
      ++slot_.totals.errnos[std::string(op) + " " + errnoName(err)];
      if (documented && faulted) ++slot_.totals.errors_in_faults;
    }
    if (documented && faulted) return;
    if (err == ENOENT && !known) return;  // listed while its existence was unknown
    defect(std::string(op) + " /" + path + ": " + errnoName(err) +
           (faulted ? " during a fault phase" : " with the service healthy"));
  }

  void defect(const std::string& what) {
    {
      std::lock_guard lock(slot_.mu);
      ++slot_.totals.defects;
    }
    s_.defects.report(what + " [phase " + s_.phases.current() + "]");
  }

  void walk(int dirfd, const std::string& dir) {
    std::vector<std::string> names;
    const std::int64_t start = nowNs();
    if (!timed("getdents", dir, [&] { return listNames(dirfd, names); })) return;
    checkListing(dir, names, start, nowNs());
    std::shuffle(names.begin(), names.end(), rng_);
    for (const auto& name : names) {
      if (s_.stop) return;
      visit(dirfd, dir, name);
    }
  }

  void checkListing(const std::string& dir, const std::vector<std::string>& names,
                    std::int64_t start, std::int64_t end) {
    auto it = s_.ref.find(dir);
    if (it == s_.ref.end() || s_.phases.faultedDuring(start, end)) return;
    std::set<std::string> got(names.begin(), names.end());
    {
      std::lock_guard lock(slot_.mu);
      ++slot_.totals.listings_checked;
    }
    if (got == it->second.entries && got.size() == names.size()) return;
    std::string diff;
    for (const auto& n : it->second.entries)
      if (!got.contains(n)) diff += " -" + n;
    for (const auto& n : got)
      if (!it->second.entries.contains(n)) diff += " +" + n;
    if (got.size() != names.size()) diff += " (a name listed twice)";
    defect("listing /" + dir + " differs from the reference:" + diff);
  }

  void visit(int dirfd, const std::string& dir, const std::string& name) {
    const std::string path = join(dir, name);
    struct stat st {};
    if (!timed("lstat", path,
               [&] { return fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0; })) {
      return;
    }
    auto it = s_.ref.find(path);
    const RefNode* ref = it == s_.ref.end() ? nullptr : &it->second;
    char type = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'f';
    if (ref == nullptr) {
      defect("/" + path + " exists, but the reference (and the service) has no such path");
      return;
    }
    if (type != ref->type) {
      defect("/" + path + " is of type " + type + ", the reference says " + ref->type);
      return;
    }
    if (type == 'd') return visitDir(dirfd, path, name);
    if (type == 'l') return visitLink(dirfd, path, name, *ref);
    visitFile(dirfd, path, name, *ref);
  }

  void visitDir(int dirfd, const std::string& path, const std::string& name) {
    int fd = -1;
    if (!timed("opendir", path, [&] {
          fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          return fd >= 0;
        })) {
      return;
    }
    walk(fd, path);
    timed("closedir", path, [&] { return close(fd) == 0; });
  }

  void visitLink(int dirfd, const std::string& path, const std::string& name, const RefNode& ref) {
    char target[4096];
    ssize_t n = -1;
    if (!timed("readlink", path, [&] {
          n = readlinkat(dirfd, name.c_str(), target, sizeof target);
          return n >= 0;
        })) {
      return;
    }
    if (std::string(target, static_cast<std::size_t>(n)) != ref.data) {
      defect("readlink /" + path + " gave another target than the reference");
    }
  }

  void visitFile(int dirfd, const std::string& path, const std::string& name, const RefNode& ref) {
    int fd = -1;
    if (!timed("open", path, [&] {
          fd = openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC);
          return fd >= 0;
        })) {
      return;
    }
    struct stat st {};
    const bool have_size = timed("fstat", path, [&] { return fstat(fd, &st) == 0; });
    std::string data;
    bool complete = true;
    for (bool more = true; more;) {
      char buf[65536];
      ssize_t n = -1;
      if (!timed("read", path, [&] {
            do {
              n = ::read(fd, buf, sizeof buf);
            } while (n < 0 && errno == EINTR);
            return n >= 0;
          })) {
        complete = false;
        break;
      }
      data.append(buf, static_cast<std::size_t>(n));
      more = n > 0;
    }
    timed("close", path, [&] { return close(fd) == 0; });
    if (!complete) return;
    if (data != ref.data) {
      defect("read /" + path + " gave " + std::to_string(data.size()) +
             " bytes other than the reference's " + std::to_string(ref.data.size()));
    } else if (have_size && static_cast<std::size_t>(st.st_size) != data.size()) {
      defect("/" + path + " has st_size " + std::to_string(st.st_size) + " but reads " +
             std::to_string(data.size()) + " bytes");
    }
  }

  Shared& s_;
  Slot& slot_;
  int root_fd_;
  std::minstd_rand rng_;
};

// ------------------------------------------------------------------ the program

struct Options {
  std::string root;
  std::string phase_file;
  std::string progress;
  long threads = 64;
  long limit_ms = 0;
};

int usage(const std::string& why) {
  std::cerr << "soak_readers: " << why << "\n"
            << "usage: soak_readers --root DIR --phase-file FILE --limit-ms L [--threads N]"
               " [--progress FILE]\n";
  return 2;
}

bool parse(int argc, char** argv, Options& o, std::string& error) {
  for (int i = 1; i < argc; i += 2) {
    std::string name = argv[i];
    if (i + 1 >= argc) {
      error = "missing value after " + name;
      return false;
    }
    std::string value = argv[i + 1];
    if (name == "--root") {
      o.root = value;
    } else if (name == "--phase-file") {
      o.phase_file = value;
    } else if (name == "--progress") {
      o.progress = value;
    } else if (name == "--threads" || name == "--limit-ms") {
      long n = std::atol(value.c_str());
      if (n <= 0) {
        error = "bad value for " + name;
        return false;
      }
      (name == "--threads" ? o.threads : o.limit_ms) = n;
    } else {
      error = "unknown argument " + name;
      return false;
    }
  }
  if (o.root.empty() || o.phase_file.empty() || o.limit_ms == 0) {
    error = "--root, --phase-file and --limit-ms are needed";
    return false;
  }
  return true;
}

struct Watch {
  Totals totals;
  std::int64_t oldest_ns = 0;  // age of the oldest call in progress
  std::string oldest_call;
};

Watch look(std::vector<std::unique_ptr<Slot>>& slots) {
  Watch w;
  const std::int64_t now = nowNs();
  for (auto& slot : slots) {
    std::lock_guard lock(slot->mu);
    w.totals.add(slot->totals);
    if (slot->started != 0 && now - slot->started > w.oldest_ns) {
      w.oldest_ns = now - slot->started;
      w.oldest_call = slot->call;
    }
  }
  return w;
}

void writeProgress(const std::string& file, const Watch& w, std::int64_t max_stuck_ns) {
  if (file.empty()) return;
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "calls=" << w.totals.calls << " walks=" << w.totals.walks
        << " errors=" << w.totals.errors_in_faults << " defects=" << w.totals.defects
        << " max_us=" << std::max(w.totals.max_ns, max_stuck_ns) / 1000 << "\n";
  }
  std::rename(tmp.c_str(), file.c_str());
}

void printSummary(const Watch& w, std::int64_t max_stuck_ns, const std::string& stuck_call,
                  std::uint64_t defects) {
  std::cout << "calls=" << w.totals.calls << " walks=" << w.totals.walks
            << " errors_in_faults=" << w.totals.errors_in_faults
            << " listings_checked=" << w.totals.listings_checked << " defects=" << defects
            << " max_us=" << w.totals.max_ns / 1000 << " max_call=\"" << w.totals.max_call << "\"";
  if (max_stuck_ns > w.totals.max_ns) {
    std::cout << " max_stuck_us=" << max_stuck_ns / 1000 << " stuck_call=\"" << stuck_call << "\"";
  }
  std::cout << "\n";
  for (const auto& [k, v] : w.totals.errnos)
    std::cout << "errno: " << k << " " << v << "\n";
  std::cout.flush();
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  std::string error;
  if (!parse(argc, argv, opt, error)) return usage(error);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  int root_fd = open(opt.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return usage("cannot open " + opt.root + ": " + errnoName(errno));
  Reference ref;
  if (!buildReference(root_fd, "", ref, error)) {
    std::cerr << "soak_readers: the reference walk failed: " << error << "\n";
    return 1;
  }
  std::size_t files =
      std::count_if(ref.begin(), ref.end(), [](const auto& kv) { return kv.second.type == 'f'; });
  std::cerr << "soak_readers: reference: " << ref.size() << " paths, " << files << " files\n";

  Phases phases(opt.phase_file);
  phases.poll();
  Defects defects;
  std::atomic<bool> stop{false};
  Shared shared{ref, phases, defects, opt.limit_ms * 1000000, stop};

  std::vector<std::unique_ptr<Slot>> slots;
  std::vector<std::thread> threads;
  for (long i = 0; i < opt.threads; ++i) {
    slots.push_back(std::make_unique<Slot>());
    threads.emplace_back([&, i, slot = slots.back().get()] {
      Reader(shared, *slot, root_fd, static_cast<unsigned>(i) + 1).run();
    });
  }

  // The watchdog: phases, progress, and calls that outlive the limit without returning.
  std::atomic<bool> done{false};
  std::int64_t max_stuck_ns = 0;
  std::string stuck_call;
  std::set<std::string> reported_stuck;
  std::thread watchdog([&] {
    int tick = 0;
    while (!done) {
      phases.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (++tick % 50 != 0) continue;
      Watch w = look(slots);
      if (w.oldest_ns > max_stuck_ns) {
        max_stuck_ns = w.oldest_ns;
        stuck_call = w.oldest_call;
      }
      writeProgress(opt.progress, w, max_stuck_ns);
    }
  });

  int sig = 0;
  sigwait(&stop_signals, &sig);
  stop = true;
  // Every call is bounded, so the readers end within a few limits (a file is open, fstat,
  // read twice, close); one that does not is stuck in the kernel.
  const std::int64_t give_up = nowNs() + 5 * opt.limit_ms * 1000000;
  for (bool all = false; !all && nowNs() < give_up;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    all = std::all_of(slots.begin(), slots.end(), [](const auto& s) {
      std::lock_guard lock(s->mu);
      return s->finished;
    });
  }
  done = true;
  watchdog.join();
  Watch w = look(slots);
  if (w.oldest_ns > max_stuck_ns) {
    max_stuck_ns = w.oldest_ns;
    stuck_call = w.oldest_call;
  }
  if (w.oldest_ns > 0) {
    defects.report("a reader is stuck in " + w.oldest_call + " for " +
                   std::to_string(w.oldest_ns / 1000000) + " ms");
  }
  writeProgress(opt.progress, w, max_stuck_ns);
  printSummary(w, max_stuck_ns, stuck_call, defects.count());
  defects.print(std::cout);
  std::cout.flush();
  if (w.oldest_ns > 0) {
    // A thread cannot be joined while it sits in the kernel; leave without joining.
    std::_Exit(1);
  }
  for (auto& t : threads)
    t.join();
  close(root_fd);
  return defects.count() == 0 ? 0 : 1;
}
