// The composition root: one metadatafs process. A Daemon builds the layers from a Config
// (no thread, no request, nothing mounted), then
//   mount()    checks the host and the mountpoint and mounts (as the mounting user)
//   detach()   without -f, goes to the background and logs to syslog from then on (or
//              keeps standard error when that is systemd's journal)
//   confine()  gives up what mounting needed (DESIGN §6): forks the unmount keeper
//              (cli/unmount_keeper.h), switches to the run_as= user when root, drops every
//              capability, sets no_new_privs, limits its filesystem view (Landlock) and
//              installs the seccomp filter (cli/syscall_filter.h). With run_as=root, as
//              root, it does nothing (warned at mount()).
//   serve()    starts the threads and serves until SIGTERM/SIGINT, stop() or an unmount,
//              then unmounts: by itself, or through the keeper once confined
// Its members are declared in the order they are built, so they are destroyed in the
// reverse order: what uses another object goes before it. The threads serve() starts
// live in one member of their own, stopped (in reverse start order) before the unmount.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cache/resource_cache.h"
#include "cli/options.h"
#include "cli/privileges.h"
#include "cli/unmount_keeper.h"
#include "common/clock.h"
#include "common/log.h"
#include "files/identity_files.h"
#include "files/metrics_file.h"
#include "files/status_file.h"
#include "files/well_known.h"
#include "mount/filesystem.h"
#include "mount/fuse_session.h"
#include "mount/inode_table.h"
#include "service/api.h"
#include "service/aws.h"
#include "service/azure.h"
#include "service/cloud.h"
#include "service/cloud_detect.h"
#include "service/gcp.h"
#include "service/health.h"
#include "service/http_transport.h"
#include "service/metadata_client.h"
#include "service/token_source.h"
#include "tree/catalog.h"

namespace mdfs::cli {

class Daemon {
 public:
  explicit Daemon(Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  Status mount();
  Status detach();
  Status confine();
  Status serve();
  // Asks serve() to return, as SIGTERM does; safe from any thread.
  void stop();

  [[nodiscard]] const Logger& log() const { return log_; }

 private:
  struct Threads;

  void addIdentityFiles();
  // Resolves run_as=; decides whether confine() confines.
  Status planConfinement();
  Status dropPrivileges();
  // Ends the mount: by itself before confine(), through the keeper after.
  Status unmountNow();
  void addCloudFiles();
  // GCE: watched resources wait for a change on the service instead of refetching on the TTL.
  void addChangeWaiter();
  [[nodiscard]] service::CloudClient& cloudClient();
  [[nodiscard]] std::unique_ptr<service::CloudClient> makeCloudClient();
  [[nodiscard]] bool ibm() const { return detected_.cloud == service::Cloud::ibm; }
  [[nodiscard]] files::Sources observed() const;

  Config config_;  // its mountpoint with symbolic links resolved, once mount() succeeded
  service::Detected detected_;  // the cloud, and why; endpoint= defaults to its service
  SystemClock clock_;
  Logger log_;
  service::ApiConfig api_;
  service::HttpTransport http_;
  // GCE's long polls (wait_for_change): attempts as long as a wait, connections of their own.
  std::unique_ptr<service::HttpTransport> long_poll_http_;
  service::ServiceHealth health_;
  service::TokenSource tokens_;
  service::MetadataClient client_;
  // Another cloud's service (with IBM, the two above serve).
  service::AwsConfig aws_;
  service::GcpConfig gcp_;
  service::AzureConfig azure_;
  std::unique_ptr<service::AwsTokenSource> aws_tokens_;
  std::unique_ptr<service::CloudClient> cloud_client_;
  tree::Catalog catalog_;
  cache::ResourceCache cache_;
  mount::InodeTable inodes_;
  mount::Filesystem fs_;
  std::unique_ptr<service::IamTokenSource> iam_;  // with trusted_profile only
  files::IdentityFiles identity_;
  files::StatusFile status_;
  files::MetricsFile metrics_;
  files::WellKnown well_known_;
  mount::FuseSession session_;
  RunAs run_as_;                       // who serves after a mount as root
  bool confine_ = true;                // false: run_as=root as root, today's behaviour
  std::string mount_device_;           // "0:52", so the keeper unmounts only this mount
  UnmountKeeper keeper_;               // once confined
  std::vector<std::string> confined_;  // what confine() did, logged after the start-up line
  std::unique_ptr<Threads> threads_;   // while serve() runs
};

// Runs a Daemon through its phases; returns the process exit status.
int runDaemon(const Config& config);

}  // namespace mdfs::cli
