#include "mount/fuse_session.h"

#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "mount/answerer.h"
#include "mount/fuse_compat.h"

namespace mdfs::mount {

struct FuseSession::State {
  State(Filesystem& f, const Logger& l) : fs(f), log(l) {}
  Filesystem& fs;
  const Logger& log;
  fuse_session* se = nullptr;
  bool mounted = false;
  std::atomic<bool> initialized{false};
  std::atomic<bool> no_open{false};     // the kernel handles opens itself (zero-message open)
  std::atomic<bool> no_opendir{false};  // likewise for directories
  pthread_t loop_thread{};
  // The INIT exchange, seen by the session's own I/O (see ioRead).
  std::atomic<std::uint64_t> init_unique{0};
  std::atomic<bool> kernel_parallel_dirops{false};  // offered by the kernel
  std::atomic<bool> parallel_dirops{false};         // wanted by opInit

  // Requests read from the kernel and not answered yet, and when /dev/fuse last carried
  // one either way: a stop waits until the calls in progress are answered.
  std::mutex io_mu;
  std::unordered_set<std::uint64_t> unanswered;  // guarded by io_mu
  SteadyTime last_io{};                          // guarded by io_mu

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  // Answers the requests that may wait on the service (lookup, getattr, readdir, read,
  // readlink); made when serving starts, stopped before the session is destroyed.
  std::unique_ptr<Answerer> answerer;
  bool stop_asked = false;     // guarded by stop_mu; exit() was called
  bool stop_now = false;       // guarded by stop_mu; exit() was called twice
  bool loop_done = false;      // guarded by stop_mu
  SteadyTime stop_asked_at{};  // guarded by stop_mu
};

namespace {

using State = FuseSession::State;

State& stateOf(fuse_req_t req) {
  return *static_cast<State*>(fuse_req_userdata(req));
}

struct timespec toTimespec(std::int64_t ns) {
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    --ts.tv_sec;
  }
  return ts;
}

struct stat toStat(const Attributes& a, std::uint32_t uid, std::uint32_t gid) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = S_ISDIR(a.mode) ? 2 : 1;
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_mtim = st.st_ctim = st.st_atim = toTimespec(a.mtime_ns);
  return st;
}

fuse_entry_param toEntryParam(const Entry& e, std::uint32_t uid, std::uint32_t gid) {
  fuse_entry_param p{};
  if (e.negative) {
    p.ino = 0;
    p.entry_timeout = e.timeout;
    return p;
  }
  p.attr = toStat(e.attr, uid, gid);
  // Entries listed without attributes: the kernel keeps the name, not a cached inode.
  p.ino = e.has_attributes ? e.attr.ino : 0;
  p.generation = 1;
  p.attr_timeout = e.timeout;
  p.entry_timeout = e.timeout;
  return p;
}

void replyError(fuse_req_t req, const Error& error, const char* op) {
  State& s = stateOf(req);
  if (s.log.enabled(LogLevel::debug)) s.log.debug(std::string(op) + ": " + error.describe());
  fuse_reply_err(req, error.errnum > 0 ? error.errnum : EIO);
}

// Runs a handler and answers EIO should anything escape it: no exception crosses into C.
template <class F>
void guarded(fuse_req_t req, const char* op, F&& body) {
  try {
    body();
  } catch (const std::exception& ex) {
    stateOf(req).log.error(std::string(op) + " failed: " + ex.what());
    fuse_reply_err(req, EIO);
  } catch (...) {
    stateOf(req).log.error(std::string(op) + " failed");
    fuse_reply_err(req, EIO);
  }
}

void opInit(void* userdata, fuse_conn_info* conn) {
  namespace compat = fuse_compat;
  auto& s = *static_cast<State*>(userdata);
  // Zero-message opens keep warm reads inside the kernel (DESIGN §2). Coherence comes
  // from attribute timeouts and mtimes, with cached pages dropped when mtime changes.
  s.no_open = compat::capable(conn, FUSE_CAP_NO_OPEN_SUPPORT);
  s.no_opendir = compat::capable(conn, FUSE_CAP_NO_OPENDIR_SUPPORT);
  if (!s.no_open) s.log.info("the kernel offers no zero-message open: the daemon answers each");
  if (!s.no_opendir) {
    s.log.info("the kernel offers no zero-message opendir: the daemon answers each");
  }
  compat::want(conn, FUSE_CAP_AUTO_INVAL_DATA);
  compat::want(conn, FUSE_CAP_READDIRPLUS);
  compat::want(conn, FUSE_CAP_READDIRPLUS_AUTO);
  // Lookups in one directory need not wait for each other (a cold walk of a directory
  // otherwise fetches one name at a time). libfuse passes this on from 3.17 (the start-up
  // log says so when it does not); a kernel without it leaves lookups serialized.
  // libfuse before 3.17 does not pass this on; the session's own I/O does (ioWritev).
  s.parallel_dirops = compat::want(conn, FUSE_CAP_PARALLEL_DIROPS);
  if (!s.parallel_dirops) s.log.info("the kernel offers no parallel directory operations");
  compat::unwant(conn, FUSE_CAP_WRITEBACK_CACHE);
  s.initialized = true;
}

// Answers `req` with `work`'s result off libfuse's threads, by the operation's deadline.
void answerLater(fuse_req_t req, Answerer::Work work) {
  stateOf(req).answerer->submit(req, std::move(work));
}

// Runs `work` here when the cache holds its answer (the common, warm case: no thread hop,
// and no queue behind requests waiting on the service), else answers later.
void answer(fuse_req_t req, bool at_once, Answerer::Work work) {
  if (!at_once) return answerLater(req, std::move(work));
  Ticket ticket(req);
  try {
    work(ticket);
  } catch (...) {
    if (ticket.claim()) fuse_reply_err(req, EIO);
  }
}

void replyError(Ticket& t, State& s, const Error& error, const char* op) {
  if (s.log.enabled(LogLevel::debug)) s.log.debug(std::string(op) + ": " + error.describe());
  if (t.claim()) fuse_reply_err(t.req(), error.errnum > 0 ? error.errnum : EIO);
}

void opLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  State& s = stateOf(req);
  answer(req, s.fs.answersAtOnce(parent, name), [&s, parent, name = std::string(name)](Ticket& t) {
    auto r = s.fs.lookup(parent, name);
    if (!r) return replyError(t, s, r.error(), "lookup");
    fuse_entry_param p = toEntryParam(r.value(), s.fs.uid(), s.fs.gidOf(r->attr));
    if (!t.claim()) {
      if (p.ino != 0) s.fs.forget(p.ino, 1);  // the kernel never got it
      return;
    }
    fuse_reply_entry(t.req(), &p);
  });
}

void opForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  stateOf(req).fs.forget(ino, nlookup);
  fuse_reply_none(req);
}

void opForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i)
    stateOf(req).fs.forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void opGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  State& s = stateOf(req);
  answer(req, s.fs.answersAtOnce(ino), [&s, ino](Ticket& t) {
    auto r = s.fs.getattr(ino);
    if (!r) return replyError(t, s, r.error(), "getattr");
    struct stat st = toStat(r->attr, s.fs.uid(), s.fs.gidOf(r->attr));
    if (t.claim()) fuse_reply_attr(t.req(), &st, r->timeout);
  });
}

void opReadlink(fuse_req_t req, fuse_ino_t ino) {
  State& s = stateOf(req);
  answer(req, s.fs.answersAtOnce(ino), [&s, ino](Ticket& t) {
    auto r = s.fs.readlink(ino);
    if (!r) return replyError(t, s, r.error(), "readlink");
    if (t.claim()) fuse_reply_readlink(t.req(), r->c_str());
  });
}

void opOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "opendir", [&] {
    State& s = stateOf(req);
    // Zero-message opendir: the kernel caches listings, revalidated by directory mtime.
    if (s.no_opendir) return (void)fuse_reply_err(req, ENOSYS);
    auto r = s.fs.getattr(ino);
    if (!r) return replyError(req, r.error(), "opendir");
    if (!S_ISDIR(r->attr.mode)) return (void)fuse_reply_err(req, ENOTDIR);
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
  });
}

// A listing's entries as they will be sent, and the lookups they hand to the kernel.
struct ListingReply {
  std::vector<DirEntry> entries;
  std::vector<std::uint64_t> next;
  std::vector<std::uint64_t> counted;  // inodes whose lookup count the entries raise
};

// The bytes an entry takes in the reply (linux/fuse.h), so that entries are chosen before
// the request is claimed.
std::size_t entrySize(const std::string& name, bool plus) {
  return plus ? FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + name.size())
              : FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + name.size());
}

void sendListing(Ticket& t, State& s, const ListingReply& listing, std::size_t size, bool plus) {
  std::unique_ptr<char[]> buf(new char[size]);  // NOLINT(modernize-make-unique): not zeroed
  std::size_t used = 0;
  for (std::size_t i = 0; i < listing.entries.size(); ++i) {
    const DirEntry& d = listing.entries[i];
    const auto next = static_cast<off_t>(listing.next[i]);
    if (plus) {
      fuse_entry_param p = toEntryParam(d.entry, s.fs.uid(), s.fs.gidOf(d.entry.attr));
      if (d.name == "." || d.name == "..") p.ino = 0;  // never lookups
      used +=
          fuse_add_direntry_plus(t.req(), buf.get() + used, size - used, d.name.c_str(), &p, next);
    } else {
      struct stat st = toStat(d.entry.attr, s.fs.uid(), s.fs.gidOf(d.entry.attr));
      used += fuse_add_direntry(t.req(), buf.get() + used, size - used, d.name.c_str(), &st, next);
    }
  }
  fuse_reply_buf(t.req(), buf.get(), used);
}

void readdirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
  State& s = stateOf(req);
  const bool at_once = s.fs.listsAtOnce(ino, static_cast<std::uint64_t>(off));
  answer(req, at_once, [&s, ino, size, off, plus](Ticket& t) {
    ListingReply listing;
    std::size_t used = 0;
    auto emit = [&](const DirEntry& d, std::uint64_t next) {
      const std::size_t n = entrySize(d.name, plus);
      if (used + n > size) return false;
      used += n;
      listing.entries.push_back(d);
      listing.next.push_back(next);
      const bool counted = plus && d.name != "." && d.name != ".." && d.entry.has_attributes;
      if (counted) listing.counted.push_back(d.entry.attr.ino);
      return true;
    };
    auto r = s.fs.readdir(ino, static_cast<std::uint64_t>(off), plus, emit);
    if (!r) return replyError(t, s, r.error(), plus ? "readdirplus" : "readdir");
    if (!t.claim()) {
      for (auto counted : listing.counted)
        s.fs.forget(counted, 1);  // the kernel never got them
      return;
    }
    sendListing(t, s, listing, size, plus);
  });
}

void opReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  readdirCommon(req, ino, size, off, false);
}

void opReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  readdirCommon(req, ino, size, off, true);
}

void opReleasedir(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) {
  fuse_reply_err(req, 0);
}

void opOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "open", [&] {
    State& s = stateOf(req);
    if ((fi->flags & O_ACCMODE) != O_RDONLY) return (void)fuse_reply_err(req, EROFS);
    if (s.no_open) return (void)fuse_reply_err(req, ENOSYS);
    auto r = s.fs.getattr(ino);
    if (!r) return replyError(req, r.error(), "open");
    if (S_ISDIR(r->attr.mode)) return (void)fuse_reply_err(req, EISDIR);
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
  });
}

void opRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  State& s = stateOf(req);
  answer(req, s.fs.answersAtOnce(ino), [&s, ino, size, off](Ticket& t) {
    auto r = s.fs.read(ino, static_cast<std::uint64_t>(off), size);
    if (!r) return replyError(t, s, r.error(), "read");
    if (t.claim()) fuse_reply_buf(t.req(), r->bytes.data(), r->bytes.size());
  });
}

void opRelease(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) {
  fuse_reply_err(req, 0);
}

// poll(2), select(2) and epoll(7) with sysfs semantics: always readable, and POLLPRI |
// POLLERR once the content changed since the open file last saw it (poll_registry.h).
void opPoll(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/, fuse_pollhandle* ph) {
  PollHandle handle;
  if (ph != nullptr) {
    handle =
        PollHandle(ph, [](void* p) { fuse_pollhandle_destroy(static_cast<fuse_pollhandle*>(p)); });
  }
  // Knowing whether the content changed may take a fetch: not on libfuse's thread then.
  State& s = stateOf(req);
  const auto kh = fuse_compat::pollKernelHandle(ph);
  answer(req, s.fs.answersAtOnce(ino), [&s, ino, kh, handle](Ticket& t) {
    const bool changed = s.fs.poll(ino, kh, handle);
    unsigned revents = POLLIN | POLLRDNORM;
    if (changed) revents |= POLLPRI | POLLERR;
    if (t.claim()) fuse_reply_poll(t.req(), revents);
  });
}

void opStatfs(fuse_req_t req, fuse_ino_t /*ino*/) {
  guarded(req, "statfs", [&] {
    struct statvfs st {};
    st.f_bsize = 4096;
    st.f_frsize = 4096;
    st.f_namemax = 255;
    st.f_files = stateOf(req).fs.inodeCount();
    st.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
    fuse_reply_statfs(req, &st);
  });
}

// Every write-like operation: the tree mirrors a read-only service.
constexpr auto kReadOnly = [](fuse_req_t req, auto... /*unused*/) { fuse_reply_err(req, EROFS); };
// Not supported, and ENOSYS makes the kernel stop asking: no extended attributes, and
// nothing is ever dirty, so no FLUSH on every close.
constexpr auto kNotImplemented = [](fuse_req_t req, auto... /*unused*/) {
  fuse_reply_err(req, ENOSYS);
};

#if MDFS_FUSE_HAS_CUSTOM_IO
// Bookkeeping for a graceful stop: which requests await an answer (FORGETs get none, and
// an INTERRUPT is about another request). Called from libfuse: nothing may escape.
void noteRequest(State& s, const fuse_in_header& in) noexcept {
  std::lock_guard lock(s.io_mu);
  s.last_io = std::chrono::steady_clock::now();
  if (in.opcode == FUSE_FORGET || in.opcode == FUSE_BATCH_FORGET || in.opcode == FUSE_INTERRUPT) {
    return;
  }
  try {
    s.unanswered.insert(in.unique);
  } catch (...) {
    // Out of memory: a stop then only waits for the quiet period.
  }
}

void noteReply(State& s, std::uint64_t unique) noexcept {
  std::lock_guard lock(s.io_mu);
  s.last_io = std::chrono::steady_clock::now();
  if (unique != 0) s.unanswered.erase(unique);  // 0: a notification
}

// The session's I/O on /dev/fuse: plain read(2) and writev(2), except that the reply to
// INIT also carries FUSE_PARALLEL_DIROPS when the kernel offered it and opInit wants it
// (libfuse before 3.17 drops that flag, and the kernel then serializes every lookup and
// readdir of a directory behind one lock). errno is left as the system call set it.
ssize_t ioRead(int fd, void* buf, size_t len, void* userdata) {
  const ssize_t n = ::read(fd, buf, len);
  if (n < static_cast<ssize_t>(sizeof(fuse_in_header))) return n;
  const int saved = errno;
  auto& s = *static_cast<State*>(userdata);
  fuse_in_header in{};
  std::memcpy(&in, buf, sizeof in);
  noteRequest(s, in);
  // An older kernel sends a shorter fuse_init_in; the flags are in every version.
  constexpr std::size_t kFlagsEnd = offsetof(fuse_init_in, flags) + sizeof(std::uint32_t);
  if (in.opcode == FUSE_INIT && static_cast<std::size_t>(n) >= sizeof in + kFlagsEnd) {
    std::uint32_t flags = 0;
    std::memcpy(&flags, static_cast<const char*>(buf) + sizeof in + offsetof(fuse_init_in, flags),
                sizeof flags);
    s.kernel_parallel_dirops = (flags & FUSE_PARALLEL_DIROPS) != 0;
    s.init_unique = in.unique;
  }
  errno = saved;
  return n;
}

void patchInitReply(State& s, struct iovec* iov, int count) {
  if (count < 2 || iov[0].iov_len < sizeof(fuse_out_header)) return;
  fuse_out_header out{};
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.unique != s.init_unique || out.error != 0) return;
  s.init_unique = 0;
  constexpr std::size_t kFlagsEnd = offsetof(fuse_init_out, flags) + sizeof(std::uint32_t);
  if (!s.parallel_dirops || !s.kernel_parallel_dirops || iov[1].iov_len < kFlagsEnd) return;
  char* at = static_cast<char*>(iov[1].iov_base) + offsetof(fuse_init_out, flags);
  std::uint32_t flags = 0;
  std::memcpy(&flags, at, sizeof flags);
  flags |= FUSE_PARALLEL_DIROPS;
  std::memcpy(at, &flags, sizeof flags);
}

ssize_t ioWritev(int fd, struct iovec* iov, int count, void* userdata) {
  auto& s = *static_cast<State*>(userdata);
  if (s.init_unique != 0) patchInitReply(s, iov, count);
  const ssize_t n = ::writev(fd, iov, count);
  if (count >= 1 && iov[0].iov_len >= sizeof(fuse_out_header)) {
    const int saved = errno;
    fuse_out_header out{};
    std::memcpy(&out, iov[0].iov_base, sizeof out);
    noteReply(s, out.unique);
    errno = saved;
  }
  return n;
}

#endif  // MDFS_FUSE_HAS_CUSTOM_IO

fuse_lowlevel_ops makeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = opInit;
  ops.lookup = opLookup;
  ops.forget = opForget;
  ops.forget_multi = opForgetMulti;
  ops.getattr = opGetattr;
  ops.readlink = opReadlink;
  ops.opendir = opOpendir;
  ops.readdir = opReaddir;
  ops.readdirplus = opReaddirplus;
  ops.releasedir = opReleasedir;
  ops.open = opOpen;
  ops.read = opRead;
  ops.release = opRelease;
  // Without a known poll handle layout, no poll: the kernel then calls every file readable.
  if (fuse_compat::pollHandleKnown()) ops.poll = opPoll;
  ops.statfs = opStatfs;
  ops.flush = kNotImplemented;
  ops.getxattr = kNotImplemented;
  ops.listxattr = kNotImplemented;
  ops.setattr = kReadOnly;
  ops.mknod = kReadOnly;
  ops.mkdir = kReadOnly;
  ops.unlink = kReadOnly;
  ops.rmdir = kReadOnly;
  ops.symlink = kReadOnly;
  ops.rename = kReadOnly;
  ops.link = kReadOnly;
  ops.write = kReadOnly;
  ops.create = kReadOnly;
  ops.setxattr = kReadOnly;
  ops.removexattr = kReadOnly;
  ops.fallocate = kReadOnly;
  return ops;
}

}  // namespace

FuseSession::FuseSession(Filesystem& fs, const Logger& log)
    : state_(std::make_unique<State>(fs, log)) {}

FuseSession::~FuseSession() {
  // Work still under way answers through the session: it ends before the session does.
  if (state_->answerer) state_->answerer->stop();
  unmount();
  if (state_->se != nullptr) fuse_session_destroy(state_->se);
}

Status FuseSession::mount(const std::vector<std::string>& args, const std::string& mountpoint) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(args.size()), argv.data());
  fuse_lowlevel_ops ops = makeOps();
  state_->se = fuse_session_new(&fargs, &ops, sizeof(ops), state_.get());
  fuse_opt_free_args(&fargs);
  if (state_->se == nullptr) return makeError(EINVAL, "cannot create the FUSE session");
  if (fuse_session_mount(state_->se, mountpoint.c_str()) != 0) {
    return makeError(EIO, "cannot mount at " + mountpoint);
  }
  state_->mounted = true;
#if MDFS_FUSE_HAS_CUSTOM_IO
  fuse_custom_io io{};
  io.read = ioRead;
  io.writev = ioWritev;
  if (int rc = fuse_session_custom_io(state_->se, &io, fuse_session_fd(state_->se)); rc != 0) {
    return makeError(-rc, "cannot set up the FUSE session's I/O");
  }
#endif
  return Ok{};
}

Status FuseSession::loop(unsigned max_threads, const std::function<void()>& end_work) {
  for (const auto& line : fuse_compat::fallbacks(max_threads))
    state_->log.info(line);
  state_->loop_thread = pthread_self();
  // Workers for the requests that may wait, more than libfuse's: a request queued behind
  // busy ones is still answered by its deadline.
  state_->answerer = std::make_unique<Answerer>(std::max(32U, max_threads * 2),
                                                state_->fs.opTimeout() + Millis(500));
  std::thread stopper([this] { stopWhenDrained(); });
#if MDFS_FUSE_HAS_LOOP_CONFIG
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(config, max_threads);
  // Idle workers are kept (libfuse's default): a worker that exits after every burst is
  // created again by the next one, and the thread count then says nothing about leaks.
  int rc = fuse_session_loop_mt(state_->se, config);
  fuse_loop_cfg_destroy(config);
#else
  fuse_loop_config config{};
  config.max_idle_threads = max_threads;  // idle workers are kept, as above
  int rc = fuse_session_loop_mt(state_->se, &config);
#endif
  {
    std::lock_guard lock(state_->stop_mu);
    state_->loop_done = true;
  }
  state_->stop_cv.notify_all();
  stopper.join();
  if (end_work) end_work();
  state_->answerer->stop();
  // A signal-driven exit reports the signal number; that is a clean stop for us.
  if (rc < 0)
    return makeError(
        -rc, "FUSE loop failed: " + std::error_code(-rc, std::generic_category()).message());
  return Ok{};
}

void FuseSession::exit() {
  {
    std::lock_guard lock(state_->stop_mu);
    if (state_->stop_asked) {
      state_->stop_now = true;
    } else {
      state_->stop_asked = true;
      state_->stop_asked_at = std::chrono::steady_clock::now();
    }
  }
  state_->stop_cv.notify_all();
}

// A call in progress may be several requests (a lookup, then a read), so a stop waits
// until no request is unanswered and none came for a moment, then ends the loop. Calls
// that keep coming are served for at most the operation timeout and half a second more; a
// second exit() stops at once.
void FuseSession::stopWhenDrained() {
  constexpr std::chrono::milliseconds kQuiet{500};
  State& s = *state_;
  std::unique_lock lock(s.stop_mu);
  s.stop_cv.wait(lock, [&] { return s.stop_asked || s.loop_done; });
  const SteadyTime cap = s.stop_asked_at + s.fs.opTimeout() + kQuiet;
  while (!s.loop_done && !s.stop_now && std::chrono::steady_clock::now() < cap) {
    {
      std::lock_guard io(s.io_mu);
      if (s.unanswered.empty() && std::chrono::steady_clock::now() - s.last_io >= kQuiet) break;
    }
    s.stop_cv.wait_for(lock, std::chrono::milliseconds(20));
  }
  if (s.loop_done || s.se == nullptr) return;
  if (!s.stop_now && std::chrono::steady_clock::now() >= cap) {
    s.log.warning("stopping with requests still coming in");
  }
  fuse_session_exit(s.se);
  // The loop's main thread sleeps in an interruptible wait: a signal wakes it to notice.
  pthread_kill(s.loop_thread, SIGUSR1);
}

void FuseSession::unmount() {
  if (state_->mounted) {
    fuse_session_unmount(state_->se);
    state_->mounted = false;
  }
}

void FuseSession::release() {
  if (state_->se == nullptr) return;
  // Once the kernel has ended the connection (the mount is gone), libfuse's unmount only
  // closes the device and frees its copy of the mountpoint: it tries no umount when the
  // device reports POLLERR, as it does from then on. Otherwise only the device is closed.
  pollfd device{fuse_session_fd(state_->se), 0, 0};
  const bool ended = poll(&device, 1, 0) == 1 && (device.revents & POLLERR) != 0;
  if (state_->mounted && ended) fuse_session_unmount(state_->se);
  state_->mounted = false;
  fuse_session_destroy(state_->se);  // closes the device
  state_->se = nullptr;
}

bool FuseSession::ready() const {
  return state_->initialized && state_->mounted;
}

int FuseSession::notify(const Invalidation& item) {
  if (!ready()) return -ENOTCONN;
  if (item.kind == Invalidation::Kind::poll) {
    return fuse_lowlevel_notify_poll(static_cast<fuse_pollhandle*>(item.poll.get()));
  }
  if (item.kind == Invalidation::Kind::inode) {
    return fuse_lowlevel_notify_inval_inode(state_->se, item.ino, 0, 0);
  }
  return fuse_lowlevel_notify_inval_entry(state_->se, item.ino, item.name.c_str(),
                                          item.name.size());
}

}  // namespace mdfs::mount
