#include "cli/daemon.h"

#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <utility>

#include "cli/environment.h"
#include "cli/landlock.h"
#include "cli/mountpoint.h"
#include "cli/signal_thread.h"
#include "cli/syscall_filter.h"
#include "files/cloud_token_file.h"
#include "mount/fuse_compat.h"
#include "mount/invalidator.h"
#include "tree/listing.h"

namespace mdfs::cli {
namespace {

// SIGUSR1 only interrupts the FUSE loop's wait (FuseSession::exit); it does nothing itself.
void wakeOnly(int /*sig*/) {}

service::ApiConfig apiConfig(const Config& c) {
  service::ApiConfig api;
  api.endpoint = c.endpoint;
  api.version = c.api_version;
  api.token_ttl_s = c.token_ttl;
  return api;
}

service::TransportOptions transportOptions(const Config& c) {
  service::TransportOptions t;
  t.cacert = c.cacert;
  t.resolve = c.effectiveResolve();
  t.wire_trace = c.debug_http;
  // One attempt never outlives the operation's deadline.
  t.attempt_timeout = std::min<Millis>(t.attempt_timeout, c.timeout);
  t.connect_timeout = std::min<Millis>(t.connect_timeout, c.timeout);
  return t;
}

// Long polls held at once (each a thread and a connection); more watched resources than
// this are refreshed on their TTL.
constexpr std::size_t kMaxLongPolls = 16;

std::unique_ptr<service::HttpTransport> longPollTransport(const Config& c, service::Cloud cloud,
                                                          const Logger& log) {
  if (cloud != service::Cloud::gcp) return nullptr;
  service::TransportOptions t = transportOptions(c);
  t.attempt_timeout = service::kGcpMaxChangeWait + c.timeout + Seconds(5);
  t.pool_size = kMaxLongPolls;
  return std::make_unique<service::HttpTransport>(std::move(t), log);
}

// Azure's IMDS answers 410 while it updates, for up to 70 s (docs/clouds/azure.md).
constexpr Millis kAzureUpdatingWindow{70000};

cache::CachePolicy cachePolicy(const Config& c, service::Cloud cloud) {
  cache::CachePolicy p;
  p.ttl = c.ttl;
  p.overrides = c.ttl_overrides;
  p.max_stale = c.max_stale;
  p.fetch_timeout = c.timeout;
  // A refetch that failed (410) goes on in the background, the stale copy served meanwhile.
  if (cloud == service::Cloud::azure) p.failing_refresh_timeout = kAzureUpdatingWindow;
  return p;
}

tree::RenderOptions renderOptions(const Config& c) {
  tree::RenderOptions render;
  render.newline = c.newline;
  return render;
}

cache::Fetcher fetcher(service::CloudClient& client) {
  return [&client](const tree::EndpointSpec& spec, Deadline deadline, FetchStats& stats) {
    return client.get(spec.api_path, spec.list_key, deadline, &stats);
  };
}

// What the prober asks while the service does not answer: any HTTP answer means it is back.
service::HttpRequest probeOf(const Config& c, const service::ApiConfig& api, service::Cloud cloud) {
  service::HttpRequest probe;
  std::string base = c.endpoint;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  switch (cloud) {
    case service::Cloud::ibm:
      return service::serviceProbe(api);
    case service::Cloud::aws:
      probe.url = base + "/latest/";  // 401 without a token: an answer all the same
      break;
    case service::Cloud::gcp:
      probe.url = base + "/computeMetadata/v1/";
      probe.headers = {"Metadata-Flavor: Google"};
      break;
    case service::Cloud::azure:
      probe.url = base + "/metadata/versions";
      probe.headers = {"Metadata: true"};
      break;
  }
  return probe;
}

service::AwsConfig awsConfig(const Config& c) {
  service::AwsConfig aws;
  aws.endpoint = c.endpoint;
  aws.token_ttl_s = c.aws_token_ttl;
  aws.imdsv1 = c.aws_imdsv1;
  return aws;
}

service::GcpConfig gcpConfig(const Config& c) {
  service::GcpConfig gcp;
  gcp.endpoint = c.endpoint;
  return gcp;
}

service::AzureConfig azureConfig(const Config& c) {
  service::AzureConfig azure;
  azure.endpoint = c.endpoint;
  azure.api_version = c.azure_api_version;
  azure.retry.retry_gone = true;  // 410: IMDS is updating, back within 70 s
  // Attempts backing off to 8 s apart until the deadline: the 70 s of a background refetch
  // (kAzureUpdatingWindow), or a reader's own timeout=.
  azure.retry.max_attempts = 32;
  azure.retry.max_backoff = Millis(8000);
  return azure;
}

tree::CloudTreeOptions treeOptions(const Config& c) {
  tree::CloudTreeOptions o;
  o.gcp_audience = c.gcp_audience;
  return o;
}

service::HealthPolicy healthPolicy(const Config& c) {
  service::HealthPolicy p;
  p.probe_timeout = c.timeout;
  return p;
}

files::Settings statusSettings(const Config& c, const service::Detected& d) {
  files::Settings s;
  s.cloud = std::string(service::cloudName(d.cloud));
  s.cloud_reason = d.reason;
  s.mountpoint = c.mountpoint;
  s.endpoint = c.endpoint;
  s.api_version = c.api_version;
  s.ttl = c.ttl;
  s.timeout = c.timeout;
  s.max_stale = c.max_stale;
  s.token_ttl = c.token_ttl;
  s.identity = c.identity;
  s.trusted_profile = c.trusted_profile;
  return s;
}

mount::FilesystemOptions filesystemOptions(const Config& c) {
  mount::FilesystemOptions o;
  o.uid = c.uid.value_or(getuid());
  o.gid = c.gid.value_or(getgid());
  o.secrets_gid = c.secrets_group;
  o.op_timeout = c.timeout;
  o.default_ttl = c.ttl;
  return o;
}

// IBM's line keeps its form ("serving M from URL (API version …"); the cloud and why close it.
std::string startupLine(const Config& c, const service::Detected& d) {
  const bool ibm = d.cloud == service::Cloud::ibm;
  std::string line = "serving " + c.mountpoint + " from " + c.endpoint + " (";
  if (ibm) line += "API version " + c.api_version + ", ";
  if (d.cloud == service::Cloud::azure) line += "api-version " + c.azure_api_version + ", ";
  line += "ttl " + std::to_string(c.ttl.count()) + " s";
  for (const auto& [path, ttl] : c.ttl_overrides) {
    line += ", " + path + " " + std::to_string(ttl.count()) + " s";
  }
  if (ibm) line += ", token_ttl " + std::to_string(c.token_ttl) + " s";
  if (d.cloud == service::Cloud::aws) {
    line += ", aws_token_ttl " + std::to_string(c.aws_token_ttl) + " s";
    if (c.aws_imdsv1) line += ", IMDSv1 allowed";
  }
  line += ", max_stale " + std::to_string(c.max_stale.count()) + " s, timeout " +
          std::to_string(c.timeout.count()) + " s); cloud " +
          std::string(service::cloudName(d.cloud)) + ": " + d.reason;
  return line;
}

// A background activity of another object: start() starts it, destruction stops it (the
// cache's refresher and workers, the service's prober).
class Background {
 public:
  Background(std::function<void()> start, std::function<void()> stop)
      : start_(std::move(start)), stop_(std::move(stop)) {}
  ~Background() { stop_(); }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  void start() { start_(); }

 private:
  std::function<void()> start_;
  std::function<void()> stop_;
};

}  // namespace

// Threads. Every thread of the process is started here, by serve(), and none before: mount()
// and detach() (a fork) run on one thread, and privileges can be dropped before serve().
//   - FUSE workers: up to max_threads, started and ended by libfuse inside session_.loop();
//     serve()'s own thread is the loop's main thread, woken by SIGUSR1 from stop().
//   - the answerer (mount/answerer.h): a fixed pool that answers requests which may wait on
//     the service, and a reaper that answers ETIMEDOUT when a deadline comes first; made
//     and stopped by session_.loop(), before the device closes.
//   - the invalidator: the only thread that sends kernel notifications (cache
//     invalidations and pollers' wake-ups, some of them scheduled for later).
//   - the cache's refresher, and the cache's fetch workers (a fixed pool, started with the
//     refresher): listings fetch their child endpoints there in parallel, and refreshes run
//     there so a hanging endpoint never delays another.
//   - the cache's long polls (GCE only): one thread per watched resource, up to
//     kMaxLongPolls, each holding one bounded wait_for_change on long_poll_http_; ended by
//     the last poller's going (the wait is cancelled) or by the cache's stop.
//   - the service's prober: while the service does not answer, it asks again in the
//     background; requests fail at once meanwhile.
//   - the signal thread: SIGTERM, SIGINT and SIGHUP are handled there, blocked elsewhere.
// libcurl runs on the thread that asks (HttpTransport starts none). Members are in start
// order; destruction stops them in reverse, each before what it uses.
// Lock order: no lock is held across a fetch, a kernel notification, a callback or another
// object's lock, but for leaf locks (docs/architecture.md, "Locks").
struct Daemon::Threads {
  explicit Threads(Daemon& d)
      : invalidator([&d](const mount::Invalidation& i) { return d.session_.notify(i); }, d.log_),
        refresher([&d] { d.cache_.startRefresher(); }, [&d] { d.cache_.stop(); }),
        prober([&d] { d.health_.start(); }, [&d] { d.health_.stop(); }),
        signals(
            [&d, this] {
              d.cache_.expireAll();
              invalidator.postAll([&d] { return d.fs_.invalidateAll(); });
            },
            [&d] { d.stop(); }, d.log_) {
    d.cache_.setChangeCallback(
        [&d, this](int endpoint, const tree::ChangeList& changes, cache::Presence presence) {
          invalidator.post(d.fs_.fetched(endpoint, changes, presence));
        });
    // Used by FUSE requests only, which end before the invalidator does.
    d.fs_.setScheduler([this](std::uint64_t key, mount::Invalidation item, SteadyTime at) {
      invalidator.schedule(key, std::move(item), at);
    });
    d.health_.onRecovery([&d] { d.cache_.retryFailedNow(); });
  }

  void start() {
    invalidator.start();
    refresher.start();
    prober.start();
    signals.start();
  }

  mount::Invalidator invalidator;
  Background refresher;  // stops the fetch workers too, and drops the change callback
  Background prober;
  SignalThread signals;
};

Daemon::Daemon(Config config)
    : config_(std::move(config)),
      detected_(config_.resolveCloud()),
      log_(config_.debug ? LogLevel::debug : LogLevel::info, Logger::stderrSink()),
      api_(apiConfig(config_)),
      http_(transportOptions(config_), log_),
      long_poll_http_(longPollTransport(config_, detected_.cloud, log_)),
      health_(http_, probeOf(config_, api_, detected_.cloud), healthPolicy(config_), clock_, log_),
      tokens_(api_, http_, clock_, log_, &health_),
      client_(api_, http_, tokens_, log_, &health_),
      aws_(awsConfig(config_)),
      gcp_(gcpConfig(config_)),
      azure_(azureConfig(config_)),
      aws_tokens_(
          detected_.cloud == service::Cloud::aws
              ? std::make_unique<service::AwsTokenSource>(aws_, http_, clock_, log_, &health_)
              : nullptr),
      cloud_client_(makeCloudClient()),
      catalog_(config_.api_version, detected_.cloud, treeOptions(config_)),
      cache_(catalog_, cachePolicy(config_, detected_.cloud), renderOptions(config_),
             fetcher(cloudClient()), clock_, log_),
      fs_(catalog_, cache_, inodes_, filesystemOptions(config_), clock_),
      iam_(config_.trusted_profile.empty()
               ? nullptr
               : std::make_unique<service::IamTokenSource>(
                     api_, service::parseTrustedProfile(config_.trusted_profile), http_, tokens_,
                     clock_, log_, &health_)),
      identity_(clock_, log_),
      status_(statusSettings(config_, detected_), observed(), clock_),
      metrics_(observed(), clock_),
      well_known_(files::wellKnownFor(detected_.cloud), fs_, config_.newline),
      session_(fs_, log_) {
  addIdentityFiles();
  addCloudFiles();
  addChangeWaiter();
  fs_.addDynamicFile(status_.file());
  fs_.addDynamicFile(metrics_.file());
  for (auto& file : well_known_.files())
    fs_.addDynamicFile(std::move(file));
}

Daemon::~Daemon() {
  // A failure between confine() and serve()'s end: the keeper still has to unmount.
  if (keeper_.running()) (void)unmountNow();
}

void Daemon::addIdentityFiles() {
  if (config_.identity && ibm()) {
    identity_.add("token", [this](Deadline d) { return tokens_.token(d); });
  }
  if (iam_) {
    identity_.add("iam_token", [this](Deadline d) { return iam_->token(d); });
  }
  for (auto& file : identity_.files())
    fs_.addDynamicFile(std::move(file));
}

std::unique_ptr<service::CloudClient> Daemon::makeCloudClient() {
  switch (detected_.cloud) {
    case service::Cloud::aws:
      return std::make_unique<service::AwsClient>(aws_, http_, *aws_tokens_, log_, &health_);
    case service::Cloud::gcp:
      return std::make_unique<service::GcpClient>(gcp_, http_, log_, &health_,
                                                  long_poll_http_.get());
    case service::Cloud::azure:
      return std::make_unique<service::AzureClient>(azure_, http_, log_, &health_);
    case service::Cloud::ibm:
      break;
  }
  return nullptr;
}

service::CloudClient& Daemon::cloudClient() {
  if (cloud_client_) return *cloud_client_;
  return client_;
}

// Azure's managed identity token, with azure_resource=.
void Daemon::addCloudFiles() {
  if (detected_.cloud != service::Cloud::azure || config_.azure_resource.empty()) return;
  const std::string path =
      "/metadata/identity/oauth2/token?resource=" + tree::urlSegment(config_.azure_resource);
  fs_.addDynamicFile(files::cloudTokenFile(
      "identity/oauth2/token",
      [this, path](Deadline deadline) { return cloud_client_->get(path, "", deadline, nullptr); },
      clock_, log_));
}

void Daemon::addChangeWaiter() {
  if (detected_.cloud != service::Cloud::gcp) return;
  auto* gcp = static_cast<service::GcpClient*>(cloud_client_.get());
  cache_.setChangeWaiter(
      [gcp](const tree::EndpointSpec& spec, const std::string& etag, Seconds wait,
            Deadline deadline, FetchStats& stats, const std::atomic<bool>& cancel) {
        return gcp->waitForChange(spec.api_path, etag, wait, deadline, stats, &cancel);
      },
      kMaxLongPolls, service::kGcpMaxChangeWait);
}

files::Sources Daemon::observed() const {
  files::Sources s{cache_, nullptr, "identity_token", iam_.get(), &health_};
  if (ibm()) s.identity = &tokens_;
  if (aws_tokens_) {
    s.identity = aws_tokens_.get();
    s.identity_name = "imds_session_token";
  }
  return s;
}

Status Daemon::planConfinement() {
  const bool root = geteuid() == 0;
  auto user = config_.run_as.empty() ? defaultRunAs() : lookUpUser(config_.run_as);
  if (!user) {
    if (root) return user.error();
    user = RunAs{"", getuid(), getgid()};  // not root: nobody to switch to anyway
  }
  run_as_ = *user;
  if (root && run_as_.isRoot()) {
    confine_ = false;
    log_.warning(
        "run_as=root: the daemon keeps root and every capability while it parses "
        "what the network sends; leave run_as out to serve as an unprivileged user");
  } else if (!root && !config_.run_as.empty() && run_as_.uid != getuid()) {
    log_.warning("run_as=" + config_.run_as + " applies to a mount made as root; serving as uid " +
                 std::to_string(getuid()));
  }
  return Ok{};
}

Status Daemon::mount() {
  for (const auto& warning : config_.warnings)
    log_.warning(warning);
  if (auto planned = planConfinement(); !planned) {
    log_.error("run_as: " + planned.error().message);
    return planned;
  }
  const HostPaths host;
  // Root, or a service user holding CAP_SYS_ADMIN, mounts by itself (no fusermount3).
  const uid_t mounter = geteuid() == 0 || holdsSysAdmin() ? 0 : geteuid();
  Status ready = checkFuseDevice(host, mounter);
  if (ready) ready = checkAllowOther(config_.fuse_options, mounter, host);
  if (!ready) {
    log_.error(ready.error().message);
    return ready;
  }
  auto path = prepareMountpoint(config_.mountpoint, config_.recover, log_);
  if (!path) {
    log_.error(path.error().message);
    return path.error();
  }
  config_.mountpoint = *path;
  Status mounted = session_.mount({"metadatafs", "-o", config_.mountOptions()}, *path);
  if (!mounted) {
    log_.error(mounted.error().message + " (the line from libfuse above says why)");
    return mounted;
  }
  if (auto ours = currentMountAt(*path)) mount_device_ = ours->device;
  return mounted;
}

Status Daemon::detach() {
  if (config_.foreground) return Ok{};
  // Under systemd, standard error is the journal: keep it, and need no syslog socket (the
  // unit may forbid creating one, RestrictAddressFamilies=).
  const int journal = stderrIsJournal() ? dup(STDERR_FILENO) : -1;
  if (journal < 0 && !syslogReachable(HostPaths{})) {
    log_.warning("no syslog socket at " + HostPaths{}.syslog_socket +
                 " (a container without one?): once detached, metadatafs's log is lost. "
                 "Use -f to keep it on standard error, or give the daemon a syslog socket");
  }
  if (fuse_daemonize(0) != 0) {
    log_.error("cannot detach from the terminal");
    return makeError(EIO, "cannot detach from the terminal");
  }
  if (journal >= 0) {
    dup2(journal, STDERR_FILENO);
    close(journal);
    return Ok{};
  }
  log_ = Logger(log_.threshold(), Logger::syslogSink("metadatafs"));
  return Ok{};
}

Status Daemon::dropPrivileges() {
  const bool root = geteuid() == 0;
  dropBoundingSet(false);
  if (root) {
    if (auto s = switchUser(run_as_); !s) return s;
    // libcurl reads the CA bundle at each new connection, as this user from now on.
    if (!config_.cacert.empty() && access(config_.cacert.c_str(), R_OK) != 0) {
      return makeError(EACCES, "cacert " + config_.cacert + " is not readable by " + run_as_.name +
                                   ", who serves: make it readable (a CA " +
                                   "certificate is public) or name another run_as=");
    }
    confined_.push_back("serving as " + run_as_.name + " (uid " + std::to_string(run_as_.uid) +
                        ", gid " + std::to_string(run_as_.gid) + ")");
  } else {
    confined_.push_back("serving as uid " + std::to_string(getuid()) + ", who mounted");
  }
  if (auto s = limitCapabilities(false); !s) return s;
  allowSanitizerTracing();
  if (auto s = forbidNewPrivileges(); !s) return s;
  auto landlock = restrictSelf(daemonPolicy(config_.endpoint, config_.effectiveResolve(),
                                            config_.cacert, config_.config_file));
  if (!landlock) return landlock.error();
  confined_.push_back(landlock->summary);
  auto filter = installSyscallFilter(FilterFor::daemon);
  if (!filter) return filter.error();
  confined_.push_back("no capabilities, no_new_privs, a seccomp filter of " +
                      std::to_string(*filter) + " system calls; unmount keeper pid " +
                      std::to_string(keeper_.pid()));
  return Ok{};
}

Status Daemon::confine() {
  if (!confine_) return Ok{};
  const bool privileged = geteuid() == 0 || holdsSysAdmin();
  auto keeper = UnmountKeeper::start(config_.mountpoint, mount_device_, privileged);
  if (!keeper) {
    log_.error(keeper.error().message);
    return keeper.error();
  }
  keeper_ = std::move(*keeper);
  Status dropped = dropPrivileges();
  if (!dropped) log_.error("cannot give up privileges: " + dropped.error().message);
  return dropped;
}

Status Daemon::unmountNow() {
  if (!keeper_.running()) {
    session_.unmount();
    return Ok{};
  }
  // The keeper unmounts while the device is still open: the kernel then ends the
  // connection, and release() can let libfuse free what it holds.
  Status unmounted = keeper_.unmount();
  session_.release();
  return unmounted;
}

Status Daemon::serve() {
  log_.info(startupLine(config_, detected_));
  for (const auto& line : confined_)
    log_.info(line);
#ifdef M_ARENA_MAX
  // Two malloc arenas instead of eight per core: the daemon's threads mostly wait, and
  // each extra arena keeps freed memory of its own.
  mallopt(M_ARENA_MAX, 2);
#endif
  // Signals go to the signal thread only; every thread started from here inherits the mask.
  SignalThread::blockHandledSignals();
  struct sigaction wake {};
  wake.sa_handler = wakeOnly;
  sigaction(SIGUSR1, &wake, nullptr);

  threads_ = std::make_unique<Threads>(*this);
  threads_->start();
  // Requests still under way (a refresh of a hung endpoint) end now, not at their timeout.
  Status served = session_.loop(config_.max_threads, [this] {
    http_.close();
    if (long_poll_http_) long_poll_http_->close();
  });
  threads_.reset();
  Status unmounted = unmountNow();
  if (!served) {
    log_.report(served.error(), "serving");
    return served;
  }
  if (!unmounted) {
    log_.error("cannot unmount " + config_.mountpoint + ": " + unmounted.error().message);
    return unmounted;
  }
  log_.info("unmounted " + config_.mountpoint);
  return Ok{};
}

void Daemon::stop() {
  session_.exit();
}

int runDaemon(const Config& config) {
  Daemon daemon(config);
  if (!daemon.mount() || !daemon.detach() || !daemon.confine() || !daemon.serve()) return 1;
  return 0;
}

}  // namespace mdfs::cli
