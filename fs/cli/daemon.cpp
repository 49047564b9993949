#include "cli/daemon.h"

#include <pthread.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>

#include "cache/resource_cache.h"
#include "cli/identity_files.h"
#include "cli/status_file.h"
#include "common/clock.h"
#include "common/log.h"
#include "mount/filesystem.h"
#include "mount/fuse_compat.h"
#include "mount/fuse_session.h"
#include "mount/inode_table.h"
#include "mount/invalidator.h"
#include "service/http_transport.h"
#include "service/metadata_client.h"
#include "service/token_source.h"
#include "tree/catalog.h"

namespace mdfs::cli {
namespace {

// SIGUSR1 only interrupts the FUSE loop's wait; it has nothing to do itself.
void wakeOnly(int /*sig*/) {}

// Waits for SIGTERM, SIGINT and SIGHUP on its own thread, so that handlers run as ordinary
// code rather than in signal context. The signals are blocked in every other thread.
class SignalThread {
 public:
  SignalThread(mount::FuseSession& session, std::function<void()> on_hup, const Logger& log)
      : session_(session), on_hup_(std::move(on_hup)), log_(log) {}
  ~SignalThread() { stop(); }
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

  // SIGUSR2 is internal: it only wakes the thread so that it can stop.
  static sigset_t handled() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR2);
    return set;
  }

  void start() {
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }

 private:
  void run() {
    sigset_t set = handled();
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (stopping_) return;
      if (sig == SIGUSR2) continue;
      if (sig == SIGHUP) {
        log_.info("SIGHUP: dropping every cached snapshot");
        on_hup_();
        continue;
      }
      log_.info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                ", unmounting");
      session_.exit();
    }
  }

  mount::FuseSession& session_;
  std::function<void()> on_hup_;
  const Logger& log_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

service::TransportOptions transportOptions(const Config& c) {
  service::TransportOptions t;
  t.cacert = c.cacert;
  t.resolve = c.effectiveResolve();
  // One attempt never outlives the operation's deadline.
  t.attempt_timeout = std::min<Millis>(t.attempt_timeout, c.timeout);
  t.connect_timeout = std::min<Millis>(t.connect_timeout, c.timeout);
  return t;
}

cache::CachePolicy cachePolicy(const Config& c) {
  cache::CachePolicy p;
  p.ttl = c.ttl;
  p.overrides = c.ttl_overrides;
  p.max_stale = c.max_stale;
  p.fetch_timeout = c.timeout;
  return p;
}

std::string startupLine(const Config& c) {
  std::string line = "serving " + c.mountpoint + " from " + c.endpoint + " (API version " +
                     c.api_version + ", ttl " + std::to_string(c.ttl.count()) + " s";
  for (const auto& [path, ttl] : c.ttl_overrides) {
    line += ", " + path + " " + std::to_string(ttl.count()) + " s";
  }
  line += ", token_ttl " + std::to_string(c.token_ttl) + " s, max_stale " +
          std::to_string(c.max_stale.count()) + " s, timeout " + std::to_string(c.timeout.count()) +
          " s)";
  return line;
}

}  // namespace

std::string staleMountAdvice(const std::string& mountpoint) {
  // statfs always reaches the filesystem (stat may be answered from the kernel's cache
  // of a dead mount's root), so a dead FUSE mount always says ENOTCONN here.
  struct statfs fs {};
  if (statfs(mountpoint.c_str(), &fs) == 0 || errno != ENOTCONN) return {};
  return mountpoint +
         " is a dead FUSE mount (Transport endpoint is not connected): its daemon is gone.\n"
         "Clean it up, then mount again:\n"
         "  fusermount3 -u " +
         mountpoint + "   (or: umount -l " + mountpoint + ")\n";
}

int runDaemon(const Config& config) {
  SystemClock clock;
  Logger log(config.debug ? LogLevel::debug : LogLevel::info, Logger::stderrSink());

  if (auto advice = staleMountAdvice(config.mountpoint); !advice.empty()) {
    log.error(advice);
    return 1;
  }
  struct stat st {};
  if (stat(config.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    log.error("mountpoint " + config.mountpoint + " is not a directory");
    return 1;
  }

  service::ApiConfig api;
  api.endpoint = config.endpoint;
  api.version = config.api_version;
  api.token_ttl_s = config.token_ttl;
  service::HttpTransport http(transportOptions(config), log);
  service::TokenSource tokens(api, http, clock, log);
  service::MetadataClient client(api, http, tokens, log);

  tree::Catalog catalog(config.api_version);
  tree::RenderOptions render;
  render.newline = config.newline;
  auto fetch = [&client](const tree::EndpointSpec& spec, Deadline deadline,
                         cache::FetchCounters& counters) {
    service::FetchStats stats;
    auto body = client.get(spec.api_path, spec.list_key, deadline, &stats);
    counters.retries = stats.retries;
    return body;
  };
  cache::ResourceCache cache(catalog, cachePolicy(config), render, fetch, clock, log);

  mount::InodeTable inodes;
  mount::FilesystemOptions fs_options;
  fs_options.uid = config.uid.value_or(getuid());
  fs_options.gid = config.gid.value_or(getgid());
  fs_options.op_timeout = config.timeout;
  fs_options.default_ttl = config.ttl;
  mount::Filesystem fs(catalog, cache, inodes, fs_options, clock);
  StatusFile status(config, cache, tokens, clock);
  fs.addDynamicFile(status.file());
  std::optional<service::IamTokenSource> iam;
  IdentityFiles identity(clock, log);
  if (config.identity) {
    identity.add("token", [&tokens](Deadline d) { return tokens.token(d); });
  }
  if (!config.trusted_profile.empty()) {
    iam.emplace(api, parseTrustedProfile(config.trusted_profile), http, tokens, clock, log);
    identity.add("iam_token", [&iam](Deadline d) { return iam->token(d); });
    status.setIamTokens(&*iam);
  }
  for (auto& file : identity.files())
    fs.addDynamicFile(std::move(file));

  mount::FuseSession session(fs, log);
  if (auto s = session.mount({"metadatafs", "-o", config.mountOptions()}, config.mountpoint); !s) {
    log.report(s.error(), "mount");
    return 1;
  }
  if (fuse_daemonize(config.foreground ? 1 : 0) != 0) {
    log.error("cannot detach from the terminal");
    return 1;
  }
  if (!config.foreground) log = Logger(log.threshold(), Logger::syslogSink("metadatafs"));
  log.info(startupLine(config));

  // Signals go to the signal thread only; every thread started from here inherits the mask.
  sigset_t handled = SignalThread::handled();
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  struct sigaction wake {};
  wake.sa_handler = wakeOnly;
  sigaction(SIGUSR1, &wake, nullptr);
  signal(SIGPIPE, SIG_IGN);

  mount::Invalidator invalidator(
      [&session](const mount::Invalidation& i) { return session.notify(i); }, log);
  cache.setChangeCallback([&](int endpoint, const tree::ChangeList& changes, bool vanished) {
    invalidator.post(fs.invalidationsFor(endpoint, changes, vanished));
  });
  SignalThread signals(
      session,
      [&] {
        cache.expireAll();
        invalidator.post(fs.invalidateAll());
      },
      log);
  invalidator.start();
  cache.startRefresher();
  signals.start();

  Status served = session.loop(config.max_threads);
  signals.stop();
  cache.stop();
  invalidator.stop();
  session.unmount();
  if (!served) {
    log.report(served.error(), "serving");
    return 1;
  }
  log.info("unmounted " + config.mountpoint);
  return 0;
}

}  // namespace mdfs::cli
